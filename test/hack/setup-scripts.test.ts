// The set-up scripts install what they use: a new machine has none of the Debian packages the
// project needs, and no script may rely on one that another script happened to install first.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");

function scripts(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(join(root, path)).isDirectory()) return scripts(path);
    return entry.endsWith(".sh") ? [path] : [];
  });
}

const all = [...scripts("hack"), ...scripts("images")];
const text = (path: string): string => readFileSync(join(root, path), "utf8");
const code = (path: string): string =>
  text(path)
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("#"))
    .join("\n");

describe("set-up scripts", () => {
  it("finds the scripts", () => {
    expect(all).toContain("hack/lib/ensure-deb.sh");
    expect(all).toContain("images/trainer/build.sh");
  });

  it("install Debian packages only through hack/lib/ensure-deb.sh", () => {
    const installers = all.filter((path) => /apt-get\s+install/.test(code(path)));
    expect(installers).toEqual(["hack/lib/ensure-deb.sh"]);
  });

  it.each(all.filter((path) => /\bbusybox\b/.test(code(path))))(
    "%s takes busybox from busybox_binary, which installs busybox-static",
    (path) => {
      if (path === "hack/lib/image-inputs.sh") return;
      expect(code(path)).toMatch(/busybox=\$\(busybox_binary\)/);
      expect(code(path)).not.toMatch(/command -v busybox|busybox=\/bin\/busybox/);
    },
  );

  it.each(all.filter((path) => /\bldd\b/.test(code(path))))("%s is the one place ldd is read", (path) => {
    expect(relative(root, join(root, path))).toBe("hack/lib/image-inputs.sh");
  });

  it("test-env.sh installs chromium before the tests, so the browser test runs in CI", () => {
    const env = code("hack/test-env.sh");
    const install = env.indexOf('"$here/ensure-chromium.sh"');
    expect(install).toBeGreaterThan(-1);
    expect(install).toBeLessThan(env.indexOf('"$@"'));
    expect(code("hack/ensure-chromium.sh")).toMatch(/"\$here\/lib\/ensure-deb\.sh" chromium\n/);
  });

  it("ensure-deb.sh checks dpkg before installing, and updates the package lists only when needed", () => {
    const script = code("hack/lib/ensure-deb.sh");
    expect(script.indexOf("dpkg-query")).toBeGreaterThan(-1);
    expect(script.indexOf("dpkg-query")).toBeLessThan(script.indexOf("apt-get update"));
    expect(script).toMatch(/\[ \$\{#missing\[@\]\} -eq 0 \] && exit 0/);
  });
});

// mlopsctl loads only the module of the command it runs: `version`, `validate`, `get` and `describe`
// import no client (Docker, undici's HTTP clients, Kubernetes, pretty logging), measured by a module
// resolve hook in a child process running src/cli/main.ts.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "mlops-lazy-"));
const hook = join(dir, "hook.mjs");
const report = join(dir, "modules.txt");
writeFileSync(
  hook,
  `import { registerHooks } from "node:module";
import { appendFileSync } from "node:fs";
registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); appendFileSync(${JSON.stringify(report)}, r.url + "\\n"); return r; } });
`,
);
writeFileSync(
  join(dir, "job.yaml"),
  "apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata:\n  name: a\nspec:\n  image: trainer:1\n",
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function packagesLoaded(args: readonly string[]): string[] {
  rmSync(report, { force: true });
  const r = spawnSync(
    join(ROOT, "node_modules/.bin/node"),
    ["--disable-warning=ExperimentalWarning", "--import", hook, join(ROOT, "src/cli/main.ts"), ...args],
    { encoding: "utf8", timeout: 30_000 },
  );
  expect(r.error).toBeUndefined();
  const urls = spawnSync("cat", [report], { encoding: "utf8" }).stdout.split("\n");
  const names = urls.flatMap((u) => {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
    return m?.[1] ? [m[1]] : [];
  });
  return [...new Set(names)].sort();
}

const CLIENTS = ["dockerode", "undici", "@kubernetes/client-node", "pino-pretty", "docker-modem"];

describe("mlopsctl loads what a command uses", () => {
  it.each([
    ["version", ["version"]],
    ["validate", ["validate", join(dir, "job.yaml")]],
    ["get", ["get", "tj", "-A", "--state-dir", join(dir, "state")]],
    ["describe", ["describe", "tj", "a", "--state-dir", join(dir, "state")]],
  ])("%s imports no client", (_name, args) => {
    const loaded = packagesLoaded(args);
    expect(loaded).toContain("commander");
    expect(loaded.filter((p) => CLIENTS.includes(p))).toEqual([]);
  });

  // rxjs (223 CommonJS files) and yaml (72) were a sixth of `get`'s time at 10,000 records.
  it("get and describe load neither rxjs nor yaml; -o yaml loads yaml", () => {
    const state = ["--state-dir", join(dir, "state")];
    for (const args of [
      ["get", "tj", "-A", ...state],
      ["describe", "tj", "a", ...state],
    ]) {
      expect(packagesLoaded(args).filter((p) => p === "rxjs" || p === "yaml")).toEqual([]);
    }
    expect(packagesLoaded(["get", "tj", "-A", "-o", "yaml", ...state])).toContain("yaml");
  });

  it("version loads nothing but commander", () => {
    expect(packagesLoaded(["version"])).toEqual(["commander"]);
  });

  it("run still loads the clients it needs (the check above can see them)", () => {
    expect(packagesLoaded(["run", "--help"])).toEqual(expect.arrayContaining(["undici"]));
  });

  it("run loads the Kubernetes client only for the Kubernetes source (~85 MB of RSS)", () => {
    expect(packagesLoaded(["run", "--help"])).not.toContain("@kubernetes/client-node");
  });
});

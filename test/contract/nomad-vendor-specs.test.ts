// describeWithSpecs: skipped with a visible message where the specs are absent, failing under CI=true.
// Runs a one-test vitest in a child process (so the real describe/skip machinery is exercised).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { NOMAD_SPEC, specsAvailable, vendorSpecsDir } from "./vendor-specs.ts";

const helper = fileURLToPath(new URL("./vendor-specs.ts", import.meta.url));
const vitestBin = fileURLToPath(new URL("../../node_modules/vitest/vitest.mjs", import.meta.url));

function runWithoutSpecs(ci: string): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "specs-ci-"));
  try {
    writeFileSync(
      join(dir, "needs-specs.test.ts"),
      [
        `import { it } from ${JSON.stringify(import.meta.resolve("vitest"))};`,
        `import { describeWithSpecs } from ${JSON.stringify(helper)};`,
        `describeWithSpecs("needs specs", () => { it("runs", () => {}); });`,
      ].join("\n"),
    );
    const result = spawnSync(process.execPath, [vitestBin, "run", "--root", dir], {
      env: { ...process.env, VENDOR_SPECS_DIR: join(dir, "absent"), CI: ci, NO_COLOR: "1" },
      encoding: "utf8",
      timeout: 60_000,
    });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("vendor specs lookup", () => {
  it("follows VENDOR_SPECS_DIR (default ../shared/vendor-specs)", () => {
    const saved = process.env.VENDOR_SPECS_DIR;
    try {
      process.env.VENDOR_SPECS_DIR = "/nonexistent-vendor-specs";
      expect(vendorSpecsDir()).toBe("/nonexistent-vendor-specs");
      expect(specsAvailable([NOMAD_SPEC])).toBe(false);
      delete process.env.VENDOR_SPECS_DIR;
      expect(vendorSpecsDir()).toMatch(/shared\/vendor-specs$/);
    } finally {
      if (saved === undefined) delete process.env.VENDOR_SPECS_DIR;
      else process.env.VENDOR_SPECS_DIR = saved;
    }
  });

  it("without specs: skipped with a message, but failing under CI=true", () => {
    const local = runWithoutSpecs("false");
    expect(local.status).toBe(0);
    expect(local.output).toContain("SKIPPED needs specs: vendor specs not found");
    const ci = runWithoutSpecs("true");
    expect(ci.status).not.toBe(0);
    expect(ci.output).toContain("CI=true requires them");
  }, 60_000);
});

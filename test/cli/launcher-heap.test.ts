// bin/mlopsctl caps V8's old generation (default 1024 MB, MLOPSCTL_MAX_OLD_SPACE_MB to change it):
// below 2 GB V8 lets the old generation grow to 1.3–2× what a major collection left live instead of
// 4× (src/heap/heap-controller.cc, MaxGrowingFactor), which was most of the operator's peak RSS.
// Read from the process bin/mlopsctl starts: a preload prints its heap limit at exit.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const MLOPSCTL = join(new URL("../../", import.meta.url).pathname, "bin/mlopsctl");
const PRELOAD = `data:text/javascript,${encodeURIComponent(
  'import { getHeapStatistics } from "node:v8"; process.on("exit", () => process.stderr.write("heap limit " + getHeapStatistics().heap_size_limit + "\\n"));',
)}`;

function version(maxOldSpaceMb: string) {
  return spawnSync(MLOPSCTL, ["version"], {
    encoding: "utf8",
    timeout: 30_000,
    env: { ...process.env, MLOPSCTL_MAX_OLD_SPACE_MB: maxOldSpaceMb, NODE_OPTIONS: `--import=${PRELOAD}` },
  });
}

/** The heap limit (old generation plus young) of `mlopsctl version`, in MB. */
function heapLimitMb(maxOldSpaceMb: string): number {
  const r = version(maxOldSpaceMb);
  expect(r.status, r.stderr).toBe(0);
  const bytes = /heap limit (\d+)/.exec(r.stderr)?.[1];
  expect(bytes, r.stderr).toBeDefined();
  return Number(bytes) / 1024 / 1024;
}

describe("bin/mlopsctl's old-generation cap", () => {
  it("is 1024 MB unless MLOPSCTL_MAX_OLD_SPACE_MB says otherwise", () => {
    const byDefault = heapLimitMb("");
    expect(byDefault).toBeGreaterThanOrEqual(1024);
    expect(byDefault).toBeLessThan(1024 + 64); // the young generation: 3 semi-spaces of 8 MB at most
    const raised = heapLimitMb("3000");
    expect(raised).toBeGreaterThanOrEqual(3000);
    expect(raised).toBeLessThan(3000 + 64);
  });

  it("refuses a MLOPSCTL_MAX_OLD_SPACE_MB that is not a number, naming it", () => {
    const r = version("1g");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("MLOPSCTL_MAX_OLD_SPACE_MB must be a number of megabytes, not '1g'");
  });
});

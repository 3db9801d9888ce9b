// A benchmark's operators record their contexts under an XDG_STATE_HOME of the benchmark's own,
// removed at its end: they had made a temporary directory the user's current context.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const exec = promisify(execFile);
const CLEANUP = new URL("../../bench/lib/cleanup.ts", import.meta.url).pathname;
const CLI = new URL("../../bin/mlopsctl", import.meta.url).pathname;
const userHome = mkdtempSync(join(tmpdir(), "bench-contexts-user-"));

afterAll(() => rmSync(userHome, { recursive: true, force: true }));

describe("a benchmark's contexts", () => {
  it("go to a state home of its own, not the user's, and that home is removed at its end", async () => {
    const work = mkdtempSync(join(tmpdir(), "bench-contexts-dir-"));
    // A benchmark whose body runs `mlopsctl run --once` over an empty directory (exit 1: nothing
    // found, but its context is recorded), as the benchmarks' operators run, and prints its state home.
    const script = `
      import { spawnSync } from "node:child_process";
      import { readdirSync } from "node:fs";
      import { main } from ${JSON.stringify(CLEANUP)};
      main("contexts-test", 60_000, async () => {
        spawnSync(${JSON.stringify(CLI)}, ["run", "--once", "--dir", ${JSON.stringify(work)}, "--scheduler", "docker", "--log-level", "silent"]);
        const home = process.env.XDG_STATE_HOME;
        console.log(JSON.stringify({ home, contexts: readdirSync(home + "/mlopsctl/contexts") }));
      });`;
    const { stdout } = await exec(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...process.env, XDG_STATE_HOME: userHome },
      timeout: 60_000,
    });
    const { home, contexts } = JSON.parse(stdout) as { home: string; contexts: string[] };
    try {
      expect(home).not.toBe(userHome);
      expect(contexts).toHaveLength(1); // recorded there while the benchmark ran
      expect(home.startsWith(tmpdir())).toBe(true);
      expect(existsSync(home)).toBe(false);
      expect(readdirSync(userHome)).toEqual([]);
    } finally {
      rmSync(work, { recursive: true, force: true });
      rmSync(`${join(work, "..")}/.mlops-state/${work.split("/").at(-1)}`, { recursive: true, force: true });
    }
  }, 90_000);
});

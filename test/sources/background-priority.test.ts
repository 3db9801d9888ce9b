import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { setPriority, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Worker } from "node:worker_threads";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lowerThreadsNamed, thisThreadId, threadNice } from "../../src/sources/state/background-priority.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const NODE = join(ROOT, "node_modules", ".bin", "node");
const USER = join(ROOT, "test", "fixtures", "state", "background-user.ts");
const MODULE = new URL("../../src/sources/state/background-priority.ts", import.meta.url).href;

/**
 * A worker thread named `name` that reports its thread id and, when `lowerItself`, lowers its own
 * priority first (lowerThisThread). It stays up until terminated.
 */
function probe(
  name: string,
  lowerItself = false,
): Promise<{ worker: Worker; tid: number; lowered?: boolean }> {
  const code = `
    const { parentPort } = require("node:worker_threads");
    import(${JSON.stringify(MODULE)}).then((m) => {
      const lowered = ${lowerItself} ? m.lowerThisThread() : undefined;
      parentPort.postMessage({ tid: m.thisThreadId(), lowered });
      setInterval(() => {}, 1000);
    });`;
  const worker = new Worker(code, { eval: true, name });
  return new Promise((resolve, reject) => {
    worker.once("message", (m: { tid: number; lowered?: boolean }) => resolve({ worker, ...m }));
    worker.once("error", reject);
  });
}

const linux = process.platform === "linux";

describe.skipIf(!linux)("background priority of the state I/O threads", () => {
  const workers: Worker[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.terminate()));
  });

  it("sets the calling thread 10 below the main thread, and no other thread", async () => {
    const main = threadNice(thisThreadId() as number) as number;
    const self = await probe("probe-self", true);
    const other = await probe("probe-other");
    workers.push(self.worker, other.worker);
    expect(self.lowered).toBe(true);
    expect(threadNice(self.tid)).toBe(Math.min(19, main + 10));
    expect(threadNice(other.tid)).toBe(main);
    expect(threadNice(thisThreadId() as number)).toBe(main);
  });

  it("sets the threads of a name 10 below the main thread, no further, and leaves other names alone", async () => {
    const main = threadNice(thisThreadId() as number) as number;
    const a = await probe("probe-named");
    const b = await probe("probe-named");
    const c = await probe("probe-else");
    workers.push(a.worker, b.worker, c.worker);
    const lowered = new Set<number>();
    expect(lowerThreadsNamed("probe-named", lowered)).toBe(2);
    expect(lowered).toEqual(new Set([a.tid, b.tid]));
    expect(threadNice(a.tid)).toBe(Math.min(19, main + 10));
    expect(threadNice(c.tid)).toBe(main);
    // A thread at or below the target (lowered before, or started by a lowered thread) stays.
    expect(lowerThreadsNamed("probe-named", new Set())).toBe(2);
    expect(threadNice(a.tid)).toBe(Math.min(19, main + 10));
    expect(lowerThreadsNamed("no-such-thread", new Set())).toBe(0);
    // Never raised: a thread set lower than the target stays there.
    const low = await probe("probe-low");
    workers.push(low.worker);
    setPriority(low.tid, Math.min(19, main + 15));
    expect(lowerThreadsNamed("probe-low", new Set())).toBe(1);
    expect(threadNice(low.tid)).toBe(Math.min(19, main + 15));
  });

  describe("the state I/O worker", () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "mlops-background-"));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    const run = async (mode: string) => {
      const { stdout } = await promisify(execFile)(NODE, [USER, dir, mode], { timeout: 30_000 });
      return JSON.parse(stdout) as { failures: number; main: number; threads: Record<string, number[]> };
    };

    it("in the background (mlopsctl run): it and libuv's pool, where its data syncs run, 10 below the main thread", async () => {
      const { failures, main, threads } = await run("background");
      expect(failures).toBe(0);
      expect(threads["state-io"]).toEqual([Math.min(19, main + 10)]);
      expect(threads["libuv-worker"]?.length).toBeGreaterThan(0);
      for (const nice of threads["libuv-worker"] ?? []) expect(nice).toBe(Math.min(19, main + 10));
      expect(threads.MainThread ?? [main]).toEqual([main]);
    });

    it("otherwise (a library user, a test) at the process's own priority", async () => {
      const { failures, main, threads } = await run("foreground");
      expect(failures).toBe(0);
      expect(threads["state-io"]).toEqual([main]);
      for (const nice of threads["libuv-worker"] ?? []) expect(nice).toBe(main);
    });
  });
});

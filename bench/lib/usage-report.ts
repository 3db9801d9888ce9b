// Preloaded into a measured Node process (NODE_OPTIONS=--import=<this file>): when the process exits,
// writes its own CPU time and peak RSS (getrusage) as JSON to $MLOPS_BENCH_USAGE_FILE. Exact figures
// for a child that exits (a /proc read can only sample it while it lives). Also CPU by thread, from
// /proc/self/task sampled every 100 ms and at exit (a thread that ended counts as of its last sample,
// up to 100 ms short), summed by thread name: the main thread, V8's helpers (garbage collection and
// compilation), the state I/O worker, libuv's pool. And the JS heap's peaks (process.memoryUsage()
// sampled every 50 ms and at exit: heapUsed, heapTotal, external, arrayBuffers) and what is live after
// a full collection at exit (heapUsed, arrayBuffers): peak RSS minus the live heap is the garbage V8
// keeps between major collections plus what lies outside the heap (binary, code, module texts).
// And, at the highest RSS sampled (/proc/self/statm every 50 ms), what it was made of: file-backed
// and anonymous pages (/proc/self/status), each V8 space's committed and used bytes, and external
// memory: what the peak holds, where the figures above are each space's own maximum.
// The CPU figures are read before that collection; a wall time measured from outside includes it
// (79 ms at 10,000 resources in one --trace-gc run).
// A preload runs in every thread with an isolate (NODE_OPTIONS reaches the state I/O worker too): it
// does its work in the main thread only. It is preloaded without its types (operator.ts strips them
// once): a .ts preload loads Node's type stripper into the measured process and into its worker.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { isMainThread } from "node:worker_threads";

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on Linux). */
const TICK_MS = 10;

const file = process.env.MLOPS_BENCH_USAGE_FILE;
if (file && isMainThread) {
  const threads = new Map<string, { name: string; ms: number }>();
  const sample = () => {
    let tids: string[];
    try {
      tids = readdirSync("/proc/self/task");
    } catch {
      return; // not Linux
    }
    for (const tid of tids) {
      try {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
        const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")).replace(/\d+$/, "");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        threads.set(tid, { name, ms: (Number(fields[11]) + Number(fields[12])) * TICK_MS });
      } catch {
        // the thread ended meanwhile
      }
    }
  };
  setInterval(sample, 100).unref();
  const peak = { heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
  let atPeakRss: PeakRss | undefined;
  const sampleMemory = () => {
    const m = process.memoryUsage();
    for (const key of Object.keys(peak) as (keyof typeof peak)[]) if (m[key] > peak[key]) peak[key] = m[key];
    const rss = residentBytes();
    if (rss !== undefined && rss > (atPeakRss?.rssBytes ?? 0)) atPeakRss = peakRss(rss, m);
  };
  setInterval(sampleMemory, 50).unref();
  process.on("exit", (code) => {
    sample();
    sampleMemory();
    const byThread: Record<string, number> = {};
    for (const { name, ms } of threads.values()) byThread[name] = (byThread[name] ?? 0) + ms;
    const usage = process.resourceUsage();
    const report = {
      pid: process.pid,
      code,
      cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
      userMs: usage.userCPUTime / 1000,
      systemMs: usage.systemCPUTime / 1000,
      peakRssBytes: usage.maxRSS * 1024,
      uptimeMs: process.uptime() * 1000,
      threadCpuMs: byThread,
      peakMemoryBytes: peak,
      ...(atPeakRss ? { atPeakRss } : {}),
      afterGcBytes: afterGc(),
    };
    writeFileSync(file, `${JSON.stringify(report)}\n`);
  });
}

/** heapUsed and arrayBuffers after a full collection (gc exposed on demand; the process is exiting). */
function afterGc(): { heapUsed: number; arrayBuffers: number } {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers };
}

/** What the highest RSS sampled was made of. */
interface PeakRss {
  rssBytes: number;
  /** File-backed pages (the Node binary, libraries) and anonymous ones (heaps, stacks, buffers). */
  fileBytes: number;
  anonBytes: number;
  /** Each V8 space with any size: committed and used bytes. */
  spaces: Record<string, { size: number; used: number }>;
  external: number;
  arrayBuffers: number;
}

const PAGE_BYTES = 4096;

/** Resident pages, from /proc/self/statm (its second field); undefined off Linux. */
function residentBytes(): number | undefined {
  try {
    return Number(readFileSync("/proc/self/statm", "latin1").split(" ")[1]) * PAGE_BYTES;
  } catch {
    return undefined;
  }
}

function peakRss(rssBytes: number, m: NodeJS.MemoryUsage): PeakRss {
  const status = readFileSync("/proc/self/status", "latin1");
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) * 1024;
  const spaces: PeakRss["spaces"] = {};
  for (const s of getHeapSpaceStatistics())
    if (s.space_size > 0)
      spaces[s.space_name.replace(/_space$/, "")] = { size: s.space_size, used: s.space_used_size };
  return {
    rssBytes,
    fileBytes: kb("RssFile"),
    anonBytes: kb("RssAnon"),
    spaces,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
  };
}

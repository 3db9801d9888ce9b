// Preloaded into a measured Node process (NODE_OPTIONS=--import=<this file>): when the process exits,
// writes its own CPU time and peak RSS (getrusage) as JSON to $MLOPS_BENCH_USAGE_FILE. Exact figures
// for a child that exits (a /proc read can only sample it while it lives). Also CPU by thread, from
// /proc/self/task sampled every 100 ms and at exit (a thread that ended counts as of its last sample,
// up to 100 ms short), summed by thread name: the main thread, V8's helpers (garbage collection and
// compilation), the state I/O worker, libuv's pool.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on Linux). */
const TICK_MS = 10;

const file = process.env.MLOPS_BENCH_USAGE_FILE;
if (file) {
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
  process.on("exit", (code) => {
    sample();
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
    };
    writeFileSync(file, `${JSON.stringify(report)}\n`);
  });
}

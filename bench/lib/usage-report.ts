// Preloaded into a measured Node process (NODE_OPTIONS=--import=<this file>): when the process exits,
// writes its own CPU time and peak RSS (getrusage) as JSON to $MLOPS_BENCH_USAGE_FILE. Exact figures
// for a child that exits (a /proc read can only sample it while it lives).
import { writeFileSync } from "node:fs";

const file = process.env.MLOPS_BENCH_USAGE_FILE;
if (file) {
  process.on("exit", (code) => {
    const usage = process.resourceUsage();
    const report = {
      pid: process.pid,
      code,
      cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
      userMs: usage.userCPUTime / 1000,
      systemMs: usage.systemCPUTime / 1000,
      peakRssBytes: usage.maxRSS * 1024,
      uptimeMs: process.uptime() * 1000,
    };
    writeFileSync(file, `${JSON.stringify(report)}\n`);
  });
}

// CPU time and memory of another process from /proc (Linux): utime + stime from /proc/<pid>/stat,
// VmHWM (peak RSS) and VmRSS from /proc/<pid>/status. Read it while the process lives: once it has
// exited and been reaped the figures are gone (usage-report.ts records them at exit instead).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let ticks: number | undefined;

/** Clock ticks per second (USER_HZ), from getconf; 100 on Linux in practice. */
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

export interface ProcUsage {
  /** User + system CPU time in ms. */
  readonly cpuMs: number;
  readonly rssBytes: number;
  readonly peakRssBytes: number;
}

export function procUsage(pid: number): ProcUsage | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) start at state (field 3).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (name: string) =>
      Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
    return {
      cpuMs: ((utime + stime) * 1000) / clockTicks(),
      rssBytes: kb("VmRSS"),
      peakRssBytes: kb("VmHWM"),
    };
  } catch {
    return undefined;
  }
}

/** CPU time of this process's reaped children (cutime + cstime of /proc/self/stat), in ms. */
export function childrenCpuMs(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / clockTicks();
}

/**
 * CPU time (ms) of each thread name of a live process (MainThread, V8Worker, state-io,
 * libuv-worker: threads of one name add up), from /proc/<pid>/task/*; undefined once it is gone.
 */
export function threadCpuMs(pid: number): Record<string, number> | undefined {
  try {
    const out: Record<string, number> = {};
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        out[name] = (out[name] ?? 0) + ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks();
      } catch {
        // a thread that ended between the listing and the read
      }
    }
    return out;
  } catch {
    return undefined;
  }
}

/** CPU (ms) by thread name between two threadCpuMs() readings. */
export function threadCpuSince(
  before: Record<string, number> | undefined,
  after: Record<string, number> | undefined,
): Record<string, number> | undefined {
  if (!before || !after) return undefined;
  const out: Record<string, number> = {};
  for (const [name, ms] of Object.entries(after)) out[name] = ms - (before[name] ?? 0);
  return out;
}

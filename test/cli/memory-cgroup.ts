// Memory cgroups (v1) for child processes: a limit as a container's would set it, and what the
// kernel charged and killed in it (launcher-heap.test.ts, bench/memory-limit.ts). Needs root and
// cgroup v1's memory controller (these machines); anywhere else `memoryCgroup` says why not.
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface MemoryCgroup {
  readonly dir: string;
  /** The most the cgroup was charged (memory.max_usage_in_bytes). */
  peakBytes(): number;
  /** Processes the kernel's OOM killer ended in it (memory.oom_control's oom_kill). */
  oomKills(): number;
  /** Removes it (its processes gone). */
  remove(): void;
}

/** A cgroup of `mb` MB under this process's own memory cgroup, or why there is none. */
export function memoryCgroup(name: string, mb: number): MemoryCgroup | { readonly why: string } {
  const line = readFileSync("/proc/self/cgroup", "utf8")
    .split("\n")
    .find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
  if (!line) return { why: "no cgroup v1 memory controller in /proc/self/cgroup" };
  const dir = join("/sys/fs/cgroup/memory", line.slice(line.lastIndexOf(":") + 1), `${name}-${process.pid}`);
  try {
    mkdirSync(dir);
    writeFileSync(join(dir, "memory.limit_in_bytes"), String(mb * 2 ** 20));
  } catch (error) {
    return { why: `cannot make a memory cgroup at ${dir}: ${(error as Error).message}` };
  }
  const read = (file: string) => readFileSync(join(dir, file), "utf8");
  return {
    dir,
    peakBytes: () => Number(read("memory.max_usage_in_bytes")),
    oomKills: () => Number(/^oom_kill (\d+)$/m.exec(read("memory.oom_control"))?.[1] ?? 0),
    remove: () => rmdirSync(dir),
  };
}

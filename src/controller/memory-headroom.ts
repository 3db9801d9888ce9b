// How close the operator is to the memory it may use, measured right after a full collection (when
// the heap holds only what is live: heap-compaction.ts calls it then). Two limits end it:
// - V8's heap limit ("JavaScript heap out of memory", an abort): Node sizes it from the memory it has
//   (a container's limit, else the machine's), about half of that but never under ~280 MB;
//   bin/mlopsctl caps it at 1024 MB.
// - A container's (cgroup's) memory limit (the kernel's OOM kill, without a word): under ~512 MB it
//   is below V8's, so it comes first. What the kernel cannot take back is the process's anonymous
//   memory (its file pages, the Node binary's, are shared and reclaimable), and a restart or a burst
//   of changes needs about twice what it holds right after a collection (bench/memory-limit.ts:
//   2,000 resources held 56 MiB so and their start was charged up to 105 MB; 10,000 settled at
//   ~100 MB and theirs up to 183 MB).
// Past a share of either (HEAP_NEAR, MEMORY_NEAR) a warning says so and what to do, once until the
// use falls a tenth of the limit below it. Sizing: docs/benchmarks.md, round 22.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { getHeapStatistics } from "node:v8";
import type { Logger } from "pino";

export interface MemoryUse {
  readonly heapUsed: number;
  readonly heapLimit: number;
  /** Anonymous resident memory (RssAnon; the whole RSS where /proc does not say). */
  readonly anonymous: number;
  /** The cgroup's memory limit, when there is one. */
  readonly memoryLimit?: number;
}

/** The share of V8's heap limit the live heap, and of a cgroup's limit the anonymous RSS, that warns. */
export const HEAP_NEAR = 0.75;
export const MEMORY_NEAR = 0.4;

export class MemoryHeadroom {
  readonly #log: Logger | undefined;
  readonly #near = { heap: false, memory: false };

  constructor(log: Logger | undefined) {
    this.#log = log;
  }

  /** Warns when `use` (right after a full collection) nears a limit it did not near before. */
  check(use: MemoryUse): void {
    if (this.#crossed("heap", use.heapUsed, use.heapLimit, HEAP_NEAR)) {
      this.#log?.warn(
        { liveMiB: mib(use.heapUsed), limitMiB: mib(use.heapLimit) },
        `the heap holds ${mib(use.heapUsed)} MiB after a full collection, ${percent(use.heapUsed, use.heapLimit)} ` +
          `of its ${mib(use.heapLimit)} MiB limit: more resources and the operator ends with "JavaScript heap out ` +
          `of memory". ${ADVICE}, or raise MLOPSCTL_MAX_OLD_SPACE_MB where the limit is bin/mlopsctl's cap of ` +
          "1024 MiB",
      );
    }
    if (
      use.memoryLimit !== undefined &&
      this.#crossed("memory", use.anonymous, use.memoryLimit, MEMORY_NEAR)
    ) {
      this.#log?.warn(
        { anonymousMiB: mib(use.anonymous), memoryLimitMiB: mib(use.memoryLimit) },
        `the operator holds ${mib(use.anonymous)} MiB of anonymous memory settled, ${percent(use.anonymous, use.memoryLimit)} ` +
          `of its cgroup's ${mib(use.memoryLimit)} MiB memory limit; a restart or a burst of changes needs about ` +
          `twice that, and past the limit the kernel ends it (an OOM kill). ${ADVICE}`,
      );
    }
  }

  /** True when `used` just passed `near` of `limit`; clears once it falls a tenth of the limit below. */
  #crossed(which: "heap" | "memory", used: number, limit: number, near: number): boolean {
    if (!(limit > 0)) return false;
    if (this.#near[which]) {
      if (used < (near - 0.1) * limit) this.#near[which] = false;
      return false;
    }
    if (used < near * limit) return false;
    this.#near[which] = true;
    return true;
  }
}

const ADVICE = "Give it more memory: a container needs 64 MB + ~15 KB per resource it holds";

/** This process's heap, anonymous RSS and cgroup memory limit now (the limit read once). */
export function memoryUse(): MemoryUse {
  const stats = getHeapStatistics();
  limit ??= { value: cgroupMemoryLimit() };
  return {
    heapUsed: stats.used_heap_size,
    heapLimit: stats.heap_size_limit,
    anonymous: anonymousRss() ?? process.memoryUsage.rss(),
    ...(limit.value !== undefined ? { memoryLimit: limit.value } : {}),
  };
}

let limit: { value: number | undefined } | undefined;

/** RssAnon of /proc/self/status, in bytes (Linux). */
function anonymousRss(): number | undefined {
  try {
    const kb = /^RssAnon:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * The memory limit of this process's cgroup (v2 memory.max, v1 memory.limit_in_bytes, at the path
 * /proc/self/cgroup names), or undefined when there is none or it cannot be read. `root` is / but in
 * tests.
 */
export function cgroupMemoryLimit(root = "/"): number | undefined {
  let lines: string[];
  try {
    lines = readFileSync(join(root, "proc/self/cgroup"), "utf8").split("\n");
  } catch {
    return undefined;
  }
  for (const line of lines) {
    const [, controllers, path] = line.split(":");
    if (controllers === undefined || path === undefined) continue;
    const file =
      controllers === ""
        ? join(root, "sys/fs/cgroup", path, "memory.max")
        : controllers.split(",").includes("memory")
          ? join(root, "sys/fs/cgroup/memory", path, "memory.limit_in_bytes")
          : undefined;
    if (!file) continue;
    let text: string;
    try {
      text = readFileSync(file, "utf8").trim();
    } catch {
      continue;
    }
    // "max" (v2) or v1's "no limit" (a page-rounded 2^63 - 1).
    if (!/^\d+$/.test(text) || Number(text) >= 2 ** 60) continue;
    return Number(text);
  }
  return undefined;
}

const mib = (bytes: number) => Math.round((10 * bytes) / 2 ** 20) / 10;
const percent = (used: number, of: number) => `${Math.round((100 * used) / of)} %`;

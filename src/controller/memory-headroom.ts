// How close the operator is to the memory it may use, measured right after a full collection (when
// the heap holds only what is live: heap-compaction.ts calls it then). Two limits end it:
// - V8's heap limit ("JavaScript heap out of memory", an abort): bin/mlopsctl sizes the old
//   generation from a container's (cgroup's) memory limit, all of it but 96 MB, and caps it at 1024
//   MB elsewhere; Node alone sizes it at about half the memory, never under ~280 MB.
// - A container's memory limit (the kernel's OOM kill, without a word): first where the heap may grow
//   past what the limit leaves (Node's own sizing under ~512 MB, MLOPSCTL_MAX_OLD_SPACE_MB set high).
// A warning says so and what to do, once until the use falls a tenth of the limit below:
// - when the live heap passes HEAP_NEAR of V8's limit;
// - when a restart (or a burst of changes) would need more than the cgroup's limit: it needs more
//   than the anonymous memory (which the kernel cannot take back; the file pages, the Node binary's,
//   are reclaimable) held right after a collection. Measured with bin/mlopsctl's sizing
//   (bench/memory-limit.ts --cold, the least limit that let a restart settle): 10,000 resources held
//   103 MiB and needed 176 MB, 20,000 160 MiB and 256 MB, 50,000 321 MiB and 448 MB; RESTART_FACTOR
//   × held + RESTART_BASE is at or above each (192, 277, 518 MiB).
// Sizing: docs/benchmarks.md, rounds 22 and 23.
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

/** The share of V8's heap limit the live heap that warns. */
export const HEAP_NEAR = 0.75;
/** What a restart needs of a cgroup's memory limit: RESTART_FACTOR × the anonymous memory held + RESTART_BASE. */
export const RESTART_FACTOR = 1.5;
export const RESTART_BASE = 37 * 2 ** 20;

/** The memory limit a restart needs, from the anonymous memory held right after a collection. */
export function restartNeed(anonymous: number): number {
  return RESTART_FACTOR * anonymous + RESTART_BASE;
}

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
    const need = restartNeed(use.anonymous);
    if (use.memoryLimit !== undefined && this.#crossed("memory", need, use.memoryLimit, 1)) {
      this.#log?.warn(
        { anonymousMiB: mib(use.anonymous), restartNeedMiB: mib(need), memoryLimitMiB: mib(use.memoryLimit) },
        `the operator holds ${mib(use.anonymous)} MiB of anonymous memory settled; a restart or a burst of ` +
          `changes needs about ${mib(need)} MiB, and its cgroup's memory limit is ${mib(use.memoryLimit)} MiB: ` +
          `short of it the operator ends ("JavaScript heap out of memory", or the kernel's OOM kill). ${ADVICE}`,
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

/** The sizing rule (README "Memory"; bench/memory-limit.ts): a container's limit for N resources. */
export const SIZING = { baseMB: 128, perResourceKB: 8 } as const;
const ADVICE = `Give it more memory: a container needs ${SIZING.baseMB} MB + ~${SIZING.perResourceKB} KB per resource it holds`;

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

/** V8's heap limit and the cgroup's memory limit (bin/mlopsctl sized the one from the other), in MiB. */
export function memoryLimits(): { heapLimitMiB: number; memoryLimitMiB?: number } {
  limit ??= { value: cgroupMemoryLimit() };
  const heapLimitMiB = Math.round(getHeapStatistics().heap_size_limit / 2 ** 20);
  return limit.value === undefined
    ? { heapLimitMiB }
    : { heapLimitMiB, memoryLimitMiB: Math.round(limit.value / 2 ** 20) };
}

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
 * /proc/self/cgroup names), or undefined when there is none or it cannot be read. In a container on
 * cgroup v1 /proc/self/cgroup names the host's path (/docker/<id>) while the container sees its own
 * cgroup at the mount's root: where the named path has no file, the root's is read. `root` is / but
 * in tests.
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
    const [mount, name] =
      controllers === ""
        ? ["sys/fs/cgroup", "memory.max"]
        : controllers.split(",").includes("memory")
          ? ["sys/fs/cgroup/memory", "memory.limit_in_bytes"]
          : [];
    if (!mount || !name) continue;
    const text = readTrimmed(join(root, mount, path, name)) ?? readTrimmed(join(root, mount, name));
    // "max" (v2) or v1's "no limit" (a page-rounded 2^63 - 1).
    if (text === undefined || !/^\d+$/.test(text) || Number(text) >= 2 ** 60) continue;
    return Number(text);
  }
  return undefined;
}

function readTrimmed(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    return undefined;
  }
}

const mib = (bytes: number) => Math.round((10 * bytes) / 2 ** 20) / 10;
const percent = (used: number, of: number) => `${Math.round((100 * used) / of)} %`;

// After a burst of work, the memory it used goes back to the system. V8 grows its heap for a burst
// (converging 10,000 resources: ~140 MB committed for ~80 MB live) and keeps the pages: V8's own
// memory reducer did not shrink it here, and a watching operator held its peak RSS (~245 MB at
// 10,000 resources) for as long as it ran. Once the controller has been quiet for a while after its
// heap grew by a margin, one full collection in V8's "last resort" flavour compacts the heap and
// releases the free pages (245 -> 185 MB RSS at 10,000, ~200 ms of CPU, once per burst: a start,
// a resync, a thousand files changed at once). Smaller growth (a trickle of edits: the young
// generation grown back to its limit, old pages half used) is given back too, once quiet, at most
// once a minute and at most 1 % of the time (100 times the last collection's duration apart).
// The start-up is a burst as well (the modules loaded, the first lists and reads: the young
// generation grown to its limit, 16 MB, before the controller exists to count it as growth): the
// first quiet period after start compacts whatever the growth (an operator over an empty directory:
// 95 -> 84 MB RSS, one collection of a small heap; docs/benchmarks.md, round 21).
// A /metrics scrape arms it too (Controller.allocatedOutside): a scraped operator's garbage (0.3 MB
// promoted to the old generation a scrape at 10,000) and young generation grown for it are given
// back by the same rules, at most once a minute (two full collections, ~100 ms at 10,000; round 27).
// After a compaction the heap holds what is live: then memory-headroom.ts warns of a heap near V8's
// limit or an RSS near the cgroup's memory limit.
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Logger } from "pino";
import { MemoryHeadroom, type MemoryUse, memoryUse } from "./memory-headroom.ts";

export interface HeapCompactionOptions {
  /** How long the controller stays quiet before the heap is compacted. Default 3 s. */
  readonly quietMs?: number;
  /** Committed heap growth since the last compaction (or the start) compacted once quiet. Default 32 MB. */
  readonly minGrowthBytes?: number;
  /** How long after the last compaction (or the start) any growth is compacted once quiet. Default 60 s. */
  readonly anyGrowthAfterMs?: number;
  /** Monotonic clock in milliseconds. Default performance.now. */
  readonly now?: () => number;
  /** Whether nothing is queued or being reconciled now. */
  readonly isQuiet: () => boolean;
  /** The collection itself (default: V8's, below); tests count calls. */
  readonly compact?: () => void;
  /** The V8 heap's committed size (default: getHeapStatistics().total_heap_size). */
  readonly committed?: () => number;
  /** The memory in use and its limits, right after a compaction (default: memoryUse()). */
  readonly usage?: () => MemoryUse;
  readonly log?: Logger;
}

export class HeapCompaction {
  readonly #quietMs: number;
  readonly #minGrowth: number;
  readonly #options: HeapCompactionOptions;
  readonly #committed: () => number;
  readonly #now: () => number;
  #baseline: number;
  /** When the last compaction ended (the start before the first), and how long it took. */
  #lastAt: number;
  #lastMs = 0;
  #waiting = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** No compaction yet: the first quiet check compacts what the start-up left. */
  #startup = true;
  readonly #headroom: MemoryHeadroom;

  constructor(options: HeapCompactionOptions) {
    this.#options = options;
    this.#headroom = new MemoryHeadroom(options.log);
    this.#quietMs = options.quietMs ?? 3_000;
    this.#minGrowth = options.minGrowthBytes ?? 32 * 1024 * 1024;
    this.#committed = options.committed ?? (() => getHeapStatistics().total_heap_size);
    this.#now = options.now ?? (() => performance.now());
    this.#baseline = this.#committed();
    this.#lastAt = this.#now();
  }

  /** The controller went quiet (a reconcile ended with nothing queued or in flight). */
  quiet(): void {
    if (this.#closed) return;
    if (this.#timer && !this.#waiting) this.#timer.refresh();
    else this.#arm(this.#quietMs, false);
  }

  /** `waiting`: armed for the end of the interval between compactions, not for a quiet period. */
  #arm(ms: number, waiting: boolean): void {
    clearTimeout(this.#timer);
    this.#waiting = waiting;
    this.#timer = setTimeout(() => this.#check(), ms).unref();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #check(): void {
    this.#timer = undefined;
    // Work since: the reconcile that ends it goes quiet again and calls back.
    if (this.#closed || !this.#options.isQuiet()) return;
    const before = this.#committed();
    const growth = before - this.#baseline;
    if (growth < this.#minGrowth && !this.#startup) {
      if (growth <= 0) return;
      // Some growth: given back once the last compaction is old enough (checked again then, if quiet).
      const wait = this.#lastAt + Math.max(this.#options.anyGrowthAfterMs ?? 60_000, 100 * this.#lastMs);
      const left = wait - this.#now();
      if (left > 0) {
        this.#arm(left, true);
        return;
      }
    }
    this.#startup = false;
    const started = this.#now();
    (this.#options.compact ?? compactHeap)();
    this.#lastAt = this.#now();
    this.#lastMs = this.#lastAt - started;
    this.#baseline = this.#committed();
    this.#options.log?.debug(
      { committedMB: mb(before), afterMB: mb(this.#baseline), ms: Math.round(this.#lastMs) },
      "heap compacted after a burst of work",
    );
    this.#headroom.check((this.#options.usage ?? memoryUse)());
  }
}

const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;

type GcFunction = (options?: { type?: string; execution?: string; flavor?: string }) => void;

let gc: GcFunction | undefined;

/**
 * A full, synchronous collection in V8's last-resort flavour (CollectAllAvailableGarbage: compacts
 * and releases pooled pages), through V8's gc extension: `--expose-gc` when Node was started with
 * it, else enabled now for a new context (the flag only adds the extension to contexts made later).
 */
export function compactHeap(): void {
  if (gc === undefined) {
    const exposed = (globalThis as { gc?: GcFunction }).gc;
    if (exposed) gc = exposed;
    else {
      setFlagsFromString("--expose-gc");
      gc = runInNewContext("gc") as GcFunction;
    }
  }
  gc({ type: "major", execution: "sync", flavor: "last-resort" });
}

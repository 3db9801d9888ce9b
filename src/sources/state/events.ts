// Bounded per-resource event log (what `describe` shows), shaped like Kubernetes Events: a repeated
// event (same type, reason and message) bumps `count` and `lastTimestamp` instead of adding a line.
// `events/<kind>/<namespace>/<name>.jsonl`, newest last, read as its newest `limit` events. The Recorder is
// synchronous for callers; writes are batched and flushed shortly after, and on close(), by the
// state I/O worker (io-worker.ts), which appends each resource's events to its log and compacts a
// log grown past twice its bound (append-logs.ts); readers fold the lines (event-merge.ts).

import { readFile, rm } from "node:fs/promises";
import { isoTime } from "../../api/iso-time.ts";
import type { ResourceKey } from "../../api/resources.ts";
import type { Clock, EventType, Recorder } from "../../controller/reconcile.ts";
import { systemClock } from "../../controller/reconcile.ts";
import { type EventRecord, type PendingEvent, parseEvents } from "./event-merge.ts";
import { appendEventLogsInWorker } from "./io-worker.ts";
import { eventsPath } from "./paths.ts";

export const DEFAULT_EVENT_LIMIT = 50;

export interface EventLogOptions {
  limit?: number;
  /** Delay before a batch is written (default 100 ms). */
  flushMs?: number;
  clock?: Clock;
  /** Called when a batch fails to write (the log is best effort; status is what matters). */
  onError?: (error: unknown) => void;
}

export class EventLog implements Recorder {
  readonly #stateDir: string;
  readonly #limit: number;
  readonly #flushMs: number;
  readonly #clock: Clock;
  readonly #onError: (error: unknown) => void;
  #pending = new Map<ResourceKey, PendingEvent[]>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(stateDir: string, options: EventLogOptions = {}) {
    this.#stateDir = stateDir;
    this.#limit = options.limit ?? DEFAULT_EVENT_LIMIT;
    this.#flushMs = options.flushMs ?? 100;
    this.#clock = options.clock ?? systemClock;
    this.#onError = options.onError ?? (() => {});
  }

  event(key: ResourceKey, type: EventType, reason: string, message: string): void {
    const list = this.#pending.get(key) ?? [];
    list.push({ type, reason, message, at: isoTime(this.#clock.now()) });
    this.#pending.set(key, list);
    if (!this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.flush().catch(this.#onError);
      }, this.#flushMs);
    }
  }

  /**
   * Writes every pending event; batches never overlap, so a log is never written twice at once.
   * The worker appends to each log (or compacts it), 256 logs per request, without fsync (losing
   * the tail of a log in a crash is fine) except where a compaction's spare inode needs one
   * (spare-inodes.ts).
   */
  flush(): Promise<void> {
    const run = this.#flushing.then(async () => {
      const batch = this.#pending;
      this.#pending = new Map();
      const keys = [...batch.keys()];
      for (let i = 0; i < keys.length; i += 256) {
        const logs = keys.slice(i, i + 256).map((key) => ({
          path: eventsPath(this.#stateDir, key),
          events: batch.get(key) ?? [],
        }));
        const failures = await appendEventLogsInWorker(logs, this.#limit);
        if (failures[0]) throw failures[0].error;
      }
    });
    this.#flushing = run.catch(() => {});
    return run;
  }

  /**
   * Drops the pending events of a resource that is gone for good (a deleted one's "Deleted", recorded
   * as it was finalized), waits for the batch being written, then removes its log: nothing written
   * later recreates it.
   */
  async forget(key: ResourceKey): Promise<void> {
    this.#pending.delete(key);
    await this.#flushing;
    await rm(eventsPath(this.#stateDir, key), { force: true });
  }

  /**
   * Writes what is pending. The state I/O worker is left to the state store's close (the store
   * closes last, after its final status writes: ending the worker here started another for them).
   */
  async close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }
}

/** A resource's events, oldest first: its log's lines folded, the newest `limit` (the recorder's). */
export async function readEvents(
  stateDir: string,
  key: ResourceKey,
  limit = DEFAULT_EVENT_LIMIT,
): Promise<EventRecord[]> {
  let text: string;
  try {
    text = await readFile(eventsPath(stateDir, key), "utf8");
  } catch {
    return [];
  }
  return parseEvents(text, limit);
}

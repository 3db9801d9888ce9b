// Bounded per-resource event log (what `describe` shows), shaped like Kubernetes Events: a repeated
// event (same type, reason and message) bumps `count` and `lastTimestamp` instead of adding a line.
// `events/<kind>/<namespace>/<name>.jsonl`, newest last, at most `limit` lines. The Recorder is
// synchronous for callers; writes are batched and flushed shortly after, and on close().
import { readFileSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { ResourceKey } from "../../api/resources.ts";
import type { Clock, EventType, Recorder } from "../../controller/reconcile.ts";
import { systemClock } from "../../controller/reconcile.ts";
import { writeFilesAtomic } from "./batch.ts";
import { eventsPath } from "./paths.ts";

export interface EventRecord {
  type: EventType;
  reason: string;
  message: string;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
}

export const DEFAULT_EVENT_LIMIT = 50;

export interface EventLogOptions {
  limit?: number;
  /** Delay before a batch is written (default 100 ms). */
  flushMs?: number;
  clock?: Clock;
  /** Called when a batch fails to write (the log is best effort; status is what matters). */
  onError?: (error: unknown) => void;
}

interface Pending {
  type: EventType;
  reason: string;
  message: string;
  at: string;
}

export class EventLog implements Recorder {
  readonly #stateDir: string;
  readonly #limit: number;
  readonly #flushMs: number;
  readonly #clock: Clock;
  readonly #onError: (error: unknown) => void;
  #pending = new Map<ResourceKey, Pending[]>();
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
    list.push({ type, reason, message, at: this.#clock.now().toISOString() });
    this.#pending.set(key, list);
    if (!this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.flush().catch(this.#onError);
      }, this.#flushMs);
    }
  }

  /**
   * Writes every pending event; batches never overlap, so a file is never merged twice at once.
   * Each log is read, merged and written synchronously in chunks (small files in the page cache),
   * every file atomically, without fsync: losing the tail of a log in a crash is fine.
   */
  flush(): Promise<void> {
    const run = this.#flushing.then(async () => {
      const batch = this.#pending;
      this.#pending = new Map();
      const keys = [...batch.keys()];
      for (let i = 0; i < keys.length; i += 256) {
        if (i > 0) await new Promise((resolve) => setImmediate(resolve));
        const files = keys.slice(i, i + 256).map((key): [string, string] => {
          const path = eventsPath(this.#stateDir, key);
          const merged = mergeEvents(parseEvents(readText(path)), batch.get(key) ?? [], this.#limit);
          return [path, `${merged.map((e) => JSON.stringify(e)).join("\n")}\n`];
        });
        const failures = await writeFilesAtomic(files, { durable: false });
        if (failures[0]) throw failures[0].error;
      }
    });
    this.#flushing = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }
}

function readText(path: string): string {
  if (!statSync(path, { throwIfNoEntry: false })) return ""; // a new resource's log: no exception
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** Pure: adds events to a log, folding repeats into count/lastTimestamp, keeping the newest `limit`. */
export function mergeEvents(
  log: readonly EventRecord[],
  events: readonly Pending[],
  limit: number,
): EventRecord[] {
  const out = [...log];
  for (const e of events) {
    const i = out.findIndex((r) => r.type === e.type && r.reason === e.reason && r.message === e.message);
    if (i !== -1) {
      const [existing] = out.splice(i, 1);
      if (existing) out.push({ ...existing, count: existing.count + 1, lastTimestamp: e.at });
    } else {
      out.push({
        type: e.type,
        reason: e.reason,
        message: e.message,
        count: 1,
        firstTimestamp: e.at,
        lastTimestamp: e.at,
      });
    }
  }
  return out.slice(Math.max(0, out.length - limit));
}

export async function readEvents(stateDir: string, key: ResourceKey): Promise<EventRecord[]> {
  let text: string;
  try {
    text = await readFile(eventsPath(stateDir, key), "utf8");
  } catch {
    return [];
  }
  return parseEvents(text);
}

function parseEvents(text: string): EventRecord[] {
  const out: EventRecord[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      out.push(JSON.parse(line) as EventRecord);
    } catch {
      // A torn last line cannot happen (atomic writes); skip anything unreadable anyway.
    }
  }
  return out;
}

// The workqueue's queued keys by priority, as controller-runtime's priority queue orders them: a
// higher priority first, first-in first-out within one. One rule more, against starvation: while
// keys of a higher priority keep coming, every other take goes to a key of NORMAL_PRIORITY or above
// that has waited longer than AGED_MS (the oldest such one), so events are not held back for as long
// as urgent keys arrive. Keys below NORMAL_PRIORITY (resyncs) wait for the queue to be quiet.

import { Fifo } from "../api/fifo.ts";

/** Keys others wait on: a run that ended a replica (an outcome, freed quota), a run a queue admitted. */
export const HIGH_PRIORITY = 100;
/** The priority of keys added without one: events, requeues, retries. */
export const NORMAL_PRIORITY = 0;
/** Keys that only may have changed (the start-up listing, periodic resyncs). */
export const LOW_PRIORITY = -100;
/** How long a key of NORMAL_PRIORITY or above waits behind higher ones before it takes turns with them. */
export const AGED_MS = 1_000;

interface Entry {
  readonly key: string;
  /** When it was queued at its priority (the workqueue's clock, ms). */
  readonly at: number;
}

interface Level {
  readonly priority: number;
  readonly entries: Fifo<Entry>;
}

/**
 * The queued keys. A raised key is pushed again at its new priority; the entry left behind is
 * skipped when reached.
 */
export class ReadyKeys {
  /** Priorities in use, highest first (a handful at most). */
  #levels: Level[] = [];
  /** Each queued key → its current entry (an entry no longer here was superseded: skipped). */
  readonly #current = new Map<string, Entry>();
  /** Whether the next take may go to an aged key of a lower priority (every other take). */
  #agedTurn = false;

  get length(): number {
    return this.#current.size;
  }

  push(key: string, priority: number, now: number): void {
    const entry: Entry = { key, at: now };
    this.#current.set(key, entry);
    let level = this.#levels.find((l) => l.priority === priority);
    if (!level) {
      level = { priority, entries: new Fifo<Entry>() };
      this.#levels.push(level);
      this.#levels.sort((a, b) => b.priority - a.priority);
    }
    level.entries.push(entry);
  }

  /** The next key at `now`: the highest priority's oldest, or every other time an aged one's. */
  shift(now: number): string | undefined {
    if (this.#current.size === 0) return undefined;
    let top: Level | undefined;
    for (const level of this.#levels) {
      const head = this.#head(level);
      if (head === undefined) continue;
      if (top === undefined) {
        top = level;
        if (!this.#agedTurn) break;
        continue;
      }
      if (level.priority < NORMAL_PRIORITY) break;
      if (now - head.at > AGED_MS) {
        this.#agedTurn = false;
        return this.#take(level);
      }
    }
    if (top === undefined) return undefined;
    this.#agedTurn = true;
    return this.#take(top);
  }

  clear(): void {
    this.#levels = [];
    this.#current.clear();
  }

  /** The level's oldest entry still current (superseded ones are dropped on the way). */
  #head(level: Level): Entry | undefined {
    for (let entry = level.entries.peek(); entry !== undefined; entry = level.entries.peek()) {
      if (this.#current.get(entry.key) === entry) return entry;
      level.entries.shift();
    }
    return undefined;
  }

  #take(level: Level): string | undefined {
    const entry = level.entries.shift();
    if (entry === undefined) return undefined;
    this.#current.delete(entry.key);
    return entry.key;
  }
}

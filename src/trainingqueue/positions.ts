// When a waiting run's written position is written again. Each admission moves every run behind
// it up by one, so writing each moved position each time costs one status write per waiting run
// per admission: n²/2 writes to drain a queue of n (500,000 for 1,000 runs; on Kubernetes, one
// status PATCH each). Kueue left the position out of its Workloads' status for this reason
// (kubernetes-sigs/kueue#168) and serves it on demand. Here the first EXACT_POSITIONS of a queue
// are kept exact, the runs that will be admitted next; further back a position is written again
// once it is off by a tenth of what the status says, so a run is written about
// log₁.₁(n / EXACT_POSITIONS) times while it waits, not n times. Each write waits a moment first
// (POSITION_DELAY_MS), so the moves of that moment are one write: a status says a position at most
// a second old at the head, ten seconds further back (then off by at most a tenth).

import { Fifo } from "../api/fifo.ts";

/** Positions 1 to this are written whenever they change. */
export const EXACT_POSITIONS = 10;

/**
 * How long a waiting run whose position went stale waits before it is reported for a write (at
 * low priority), so that the moves of that time are one write. At the head (positions 1 to
 * EXACT_POSITIONS) a second: a queue admitting ten runs a second moves each of them ten times a
 * second, and writing each move as soon as the operator had a moment was ten status writes per
 * admission, which took the capacity a busier queue's admissions needed (benchmarks.md, Round 13).
 * Further back ten seconds: a run there is written once it is off by a tenth, which a queue
 * draining fast reaches every second at any depth (on Kubernetes, a status PATCH per waiting run
 * per second). A run admitted or gone meanwhile is not reported (a write waiting in the workqueue
 * would cost a reconcile of a run that has no position any more).
 */
export const POSITION_DELAY_MS = { head: 1000, tail: 10_000 } as const;

/**
 * How long a queue whose counts (usage, pending, admitted) a release or an admission changed waits
 * before its status is written, so that the changes of that time are one write: a queue's status
 * and the metrics read from it are at most about a second old while runs come and go.
 */
export const QUEUE_STATUS_DELAY_MS = 1000;

/**
 * How long to wait before writing the position of a waiting run whose status says `written`, now
 * that its place is `now` (undefined: it has none, as a run that can never fit); undefined when the
 * written one is not stale (positionStale).
 */
export function positionDelayMs(written: number | undefined, now: number | undefined): number | undefined {
  if (!positionStale(written, now)) return undefined;
  const head = (p: number | undefined) => p === undefined || p <= EXACT_POSITIONS;
  return head(written) || head(now) ? POSITION_DELAY_MS.head : POSITION_DELAY_MS.tail;
}

/**
 * Whether a waiting run whose status says `written` (undefined: no position) is to be written
 * again now that its place is `now` (undefined: it has none, as a run that can never fit).
 */
export function positionStale(written: number | undefined, now: number | undefined): boolean {
  if (written === now) return false;
  if (written === undefined || now === undefined) return true;
  if (written <= EXACT_POSITIONS || now <= EXACT_POSITIONS) return true;
  return Math.abs(written - now) * 10 >= written;
}

/** A key put in a DelayLine: when it is due (the line's clock). */
export interface Delayed<K> {
  readonly key: K;
  readonly due: number;
}

/** Keys handed to `due` `delayMs` after they were put, in the order they were put, by one timer. */
export class DelayLine<K> {
  readonly #entries = new Fifo<Delayed<K>>();
  readonly #delayMs: number;
  readonly #due: (entry: Delayed<K>) => void;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;

  constructor(delayMs: number, due: (entry: Delayed<K>) => void, now: () => number) {
    this.#delayMs = delayMs;
    this.#due = due;
    this.#now = now;
  }

  /** Puts `key`; returns its entry, handed to `due` when due (a key put twice is handed twice). */
  put(key: K): Delayed<K> {
    const entry = { key, due: this.#now() + this.#delayMs };
    this.#entries.push(entry);
    if (this.#timer === undefined) this.#arm();
    return entry;
  }

  #arm(): void {
    const next = this.#entries.peek();
    if (next === undefined) return;
    // Not a reason to keep the process alive: what is due is a status write that may also not happen.
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, Math.ceil(next.due - this.#now()))).unref();
  }

  #fire(): void {
    this.#timer = undefined;
    const now = this.#now();
    for (
      let next = this.#entries.peek();
      next !== undefined && next.due <= now;
      next = this.#entries.peek()
    ) {
      this.#entries.shift();
      this.#due(next);
    }
    this.#arm();
  }
}

/** Keys handed to `due` `delayMs` after they were put; a key put again while it waits is not put twice. */
export class Coalescer<K> {
  readonly #waiting = new Set<K>();
  readonly #line: DelayLine<K>;

  constructor(delayMs: number, due: (key: K) => void, now: () => number) {
    this.#line = new DelayLine(
      delayMs,
      ({ key }) => {
        this.#waiting.delete(key);
        due(key);
      },
      now,
    );
  }

  put(key: K): void {
    if (this.#waiting.has(key)) return;
    this.#waiting.add(key);
    this.#line.put(key);
  }
}

// A rate-limited, delaying workqueue of string keys, with client-go's guarantees
// (k8s.io/client-go/util/workqueue): a key queued twice is processed once (dirty set); a key re-added
// while it is being processed is processed again after `done`, never concurrently (processing set);
// delayed keys wait in one min-heap served by a single timer for the earliest of them; failures back
// off per key. Idle costs nothing: workers wait on promises, and no timer runs without delayed keys.
// Keys carry a priority, as in controller-runtime's priority queue (pkg/controller/priorityqueue): a
// higher priority is taken first, first-in first-out within one; adding a queued key with a higher
// priority raises it, never lowers it. Resyncs queue every key at LOW_PRIORITY, so a change that an
// event reports is not served after thousands of keys that only may have changed; runs that ended a
// replica and runs a queue admitted come at HIGH_PRIORITY. Against starvation, a key of
// NORMAL_PRIORITY or above that waited over a second takes turns with higher ones (ready-keys.ts).
// Workers let the event loop turn: a reconcile that awaits no I/O (an unchanged resource read from
// caches, a queued run's first look) resolves in microtasks, and workers taking such keys one after
// another would hold the loop until the backlog is gone, no socket read (the event stream, a
// server's answer, /healthz) in between. Past TURN_BUDGET_MS of takes in one turn, keys are handed
// out again after the loop has polled for I/O.
// Metrics: client-go's workqueue_* series, labelled with the queue's name (the controller's).
import { realNow, realSetImmediate, TURN_BUDGET_MS } from "../api/turns.ts";
import {
  workqueueAdds,
  workqueueDepth,
  workqueueLongestRunning,
  workqueueQueueDuration,
  workqueueRetries,
  workqueueUnfinishedWork,
  workqueueWorkDuration,
} from "../observability/metrics.ts";
import { Backoff, type BackoffOptions } from "./backoff.ts";
import { DelayHeap } from "./delay-heap.ts";
import { NORMAL_PRIORITY, ReadyKeys } from "./ready-keys.ts";

export interface WorkQueueOptions {
  /** Label `name` of the workqueue_* metrics: the controller's name. */
  readonly name: string;
  /** Per-key backoff for addRateLimited. Default: 750 ms doubling to 15 min. */
  readonly backoff?: Backoff | BackoffOptions;
  /** Monotonic clock in milliseconds. Default performance.now. */
  readonly now?: () => number;
  /** Called when a handler given to `run` throws (handlers should not). Default: a process warning. */
  readonly onHandlerError?: (key: string, error: unknown) => void;
}

export { TURN_BUDGET_MS } from "../api/turns.ts";
export { HIGH_PRIORITY, LOW_PRIORITY, NORMAL_PRIORITY } from "./ready-keys.ts";

/** Longest delay setTimeout accepts; a later key is reached in several hops. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** client-go refreshes the in-progress gauges every 500 ms while something is being processed. */
const UNFINISHED_REFRESH_MS = 500;

export class WorkQueue {
  readonly name: string;
  readonly backoff: Backoff;
  readonly #now: () => number;
  readonly #onHandlerError: (key: string, error: unknown) => void;
  readonly #ready = new ReadyKeys();
  /** Keys that need processing (queued, or re-added while processing) → their priority. */
  readonly #dirty = new Map<string, number>();
  /** Keys being processed → when processing started. */
  readonly #processing = new Map<string, number>();
  /** Keys in the dirty set → when they were added (for the queue duration). */
  readonly #addedAt = new Map<string, number>();
  readonly #waiting = new DelayHeap();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #refresh: NodeJS.Timeout | undefined;
  #getters: ((key: string | undefined) => void)[] = [];
  /** Waiting workers are handed keys at the end of this turn (#push). */
  #handing = false;
  /** When this turn's first key was taken (real clock); undefined once the loop turned. */
  #turnStart: number | undefined;
  #idleWaiters: (() => void)[] = [];
  #drainWaiters: (() => void)[] = [];
  #shuttingDown = false;
  readonly #m;

  constructor(options: WorkQueueOptions) {
    this.name = options.name;
    this.backoff = options.backoff instanceof Backoff ? options.backoff : new Backoff(options.backoff);
    this.#now = options.now ?? (() => performance.now());
    this.#onHandlerError =
      options.onHandlerError ??
      ((key, error) =>
        process.emitWarning(`workqueue ${this.name}: handler for ${key} threw: ${String(error)}`));
    const labels = { name: this.name };
    this.#m = {
      depth: workqueueDepth.labels(labels),
      adds: workqueueAdds.labels(labels),
      queueDuration: workqueueQueueDuration.labels(labels),
      workDuration: workqueueWorkDuration.labels(labels),
      retries: workqueueRetries.labels(labels),
      unfinished: workqueueUnfinishedWork.labels(labels),
      longest: workqueueLongestRunning.labels(labels),
    };
    this.#m.depth.set(0);
  }

  /**
   * Queues `key` unless it is already queued (then its priority is raised to `priority` if lower); a
   * key being processed is queued again after `done`.
   */
  add(key: string, priority: number = NORMAL_PRIORITY): void {
    if (this.#shuttingDown) return;
    const queued = this.#dirty.get(key);
    if (queued !== undefined) {
      if (priority <= queued) return;
      this.#dirty.set(key, priority);
      if (!this.#processing.has(key)) this.#ready.push(key, priority, this.#now());
      return;
    }
    this.#m.adds.inc();
    this.#m.depth.inc();
    this.#dirty.set(key, priority);
    this.#addedAt.set(key, this.#now());
    if (this.#processing.has(key)) return;
    this.#push(key, priority);
  }

  /** Queues `key` after `delayMs`. A key already waiting keeps the earlier of its two times. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    this.#m.retries.inc();
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    const at = this.#now() + delayMs;
    this.#waiting.schedule(key, at);
    if (at < this.#timerAt) this.#arm(at);
  }

  /** Queues `key` after its next backoff delay; returns that delay. */
  addRateLimited(key: string): number {
    const delay = this.backoff.next(key);
    this.addAfter(key, delay);
    return delay;
  }

  /** Stops backing off `key` (after a success, or when it is given up). */
  forget(key: string): void {
    this.backoff.forget(key);
  }

  /** `key` failed and waits for its retry (addRateLimited): a delayed key that has failures. */
  backingOff(key: string): boolean {
    return this.#waiting.has(key) && this.backoff.failures(key) > 0;
  }

  /**
   * Queues now every key waiting for its retry after a failure (backingOff): a server that was down
   * answers again, and what failed on it need not wait out a backoff grown during the outage (a
   * minute's outage: the next retry up to ~48 s after it; a longer one, up to 15 min). Their failures
   * are kept: a key that fails again backs off further. Returns how many.
   */
  retryNow(): number {
    if (this.#shuttingDown) return 0;
    const now = this.#now();
    let count = 0;
    for (const key of [...this.#waiting.keys()]) {
      if (this.backoff.failures(key) === 0) continue;
      this.#waiting.schedule(key, now); // a key keeps the earlier time: due now
      count++;
    }
    if (count > 0) this.#arm(now);
    return count;
  }

  /** Failures of `key` since it was last forgotten. */
  retries(key: string): number {
    return this.backoff.failures(key);
  }

  /** The next key to process, once one is queued; undefined after shutdown. Call `done(key)` after. */
  get(): Promise<string | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    const key = this.#turnSpent() ? undefined : this.#take();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** Marks `key` processed; if it was re-added meanwhile, it is queued again. */
  done(key: string): void {
    const started = this.#processing.get(key);
    if (started === undefined) return;
    this.#processing.delete(key);
    this.#m.workDuration.observe((this.#now() - started) / 1000);
    const priority = this.#dirty.get(key);
    if (priority !== undefined) this.#push(key, priority);
    if (this.#processing.size === 0) this.#stopRefresh();
    this.#settle();
  }

  /** Runs `workers` loops of get → handler → done until shutdown; resolves when all have stopped. */
  async run(workers: number, handler: (key: string) => Promise<void>): Promise<void> {
    if (!(Number.isInteger(workers) && workers >= 1)) {
      throw new RangeError(`workqueue ${this.name}: workers must be an integer >= 1, got ${workers}`);
    }
    const loop = async (): Promise<void> => {
      for (let key = await this.get(); key !== undefined; key = await this.get()) {
        try {
          await handler(key);
        } catch (error) {
          this.#onHandlerError(key, error);
        } finally {
          this.done(key);
        }
      }
    };
    await Promise.all(Array.from({ length: workers }, loop));
  }

  /** Stops taking keys (queued and delayed ones are dropped); resolves once in-flight keys are done. */
  shutdown(): Promise<void> {
    if (!this.#shuttingDown) {
      this.#shuttingDown = true;
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerAt = Number.POSITIVE_INFINITY;
      this.#waiting.clear();
      this.#ready.clear();
      this.#dirty.clear();
      this.#addedAt.clear();
      this.#m.depth.set(0);
      for (const getter of this.#getters.splice(0)) getter(undefined);
    }
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Keys queued and not yet taken. */
  get length(): number {
    return this.#ready.length;
  }

  /** Keys being processed. */
  get inFlight(): number {
    return this.#processing.size;
  }

  /** Keys waiting for their delay. */
  get delayed(): number {
    return this.#waiting.size;
  }

  /** Nothing queued, nothing in flight, nothing delayed. */
  isIdle(): boolean {
    return this.#ready.length === 0 && this.#processing.size === 0 && this.#waiting.size === 0;
  }

  /** Resolves once the queue is idle. */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Keys that still need processing (queued, re-added while in flight, or delayed). */
  pending(): string[] {
    return [...new Set([...this.#dirty.keys(), ...this.#waiting.keys()])];
  }

  /**
   * Queues `key`; a worker waiting for one takes it at the end of this turn, not now (as client-go's
   * workers wake after the adds): a change reported on two streams at once (an allocation that
   * ended: an event and an ending) is one reconcile, not one now and one after it as a re-add of
   * a key in flight, and the keys of one turn go to the workers by priority, not by arrival.
   */
  #push(key: string, priority: number): void {
    this.#ready.push(key, priority, this.#now());
    if (this.#getters.length === 0 || this.#handing) return;
    this.#handing = true;
    queueMicrotask(() => {
      this.#handing = false;
      this.#hand();
    });
  }

  /** Hands queued keys to waiting workers, unless this turn's budget is spent (then after the yield). */
  #hand(): void {
    while (this.#getters.length > 0 && this.#ready.length > 0 && !this.#turnSpent()) {
      const key = this.#take();
      if (key === undefined) break; // only entries left behind by raised keys
      (this.#getters.shift() as (key: string | undefined) => void)(key);
    }
  }

  /**
   * Whether keys were taken for TURN_BUDGET_MS or longer in this turn. The first take of a turn
   * starts its clock and a setImmediate that ends it: that runs once the loop has polled for I/O,
   * and hands keys to the workers that waited meanwhile.
   */
  #turnSpent(): boolean {
    if (this.#turnStart === undefined) {
      this.#turnStart = realNow();
      realSetImmediate(() => {
        this.#turnStart = undefined;
        this.#hand();
      });
      return false;
    }
    return realNow() - this.#turnStart >= TURN_BUDGET_MS;
  }

  #take(): string | undefined {
    const key = this.#ready.shift(this.#now());
    if (key === undefined) return undefined;
    const now = this.#now();
    this.#dirty.delete(key);
    this.#m.depth.dec();
    this.#m.queueDuration.observe((now - (this.#addedAt.get(key) ?? now)) / 1000);
    this.#addedAt.delete(key);
    this.#processing.set(key, now);
    if (this.#refresh === undefined) {
      this.#refresh = setInterval(() => this.#refreshUnfinished(), UNFINISHED_REFRESH_MS);
      this.#refresh.unref();
    }
    return key;
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(at - this.#now())));
    this.#timer = setTimeout(() => this.#fire(), delay);
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = this.#now();
    for (let next = this.#waiting.peek(); next !== undefined && next.at <= now; next = this.#waiting.peek()) {
      this.#waiting.pop();
      this.add(next.key);
    }
    const next = this.#waiting.peek();
    if (next !== undefined) this.#arm(next.at);
    this.#settle();
  }

  #refreshUnfinished(): void {
    const now = this.#now();
    let total = 0;
    let longest = 0;
    for (const started of this.#processing.values()) {
      total += now - started;
      longest = Math.max(longest, now - started);
    }
    this.#m.unfinished.set(total / 1000);
    this.#m.longest.set(longest / 1000);
  }

  #stopRefresh(): void {
    if (this.#refresh !== undefined) clearInterval(this.#refresh);
    this.#refresh = undefined;
    this.#refreshUnfinished();
  }

  #settle(): void {
    if (this.#processing.size === 0 && this.#drainWaiters.length > 0) {
      for (const resolve of this.#drainWaiters.splice(0)) resolve();
    }
    if (this.#idleWaiters.length > 0 && this.isIdle()) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }
}

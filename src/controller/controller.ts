// The controller loop (controller-runtime's pkg/internal/controller, kube-rs's Controller): event
// streams of keys merged into one workqueue; up to `concurrency` workers each take a key and call
// `dispatch`, which the composition root supplies (it looks the key up in the source and calls the
// kind's reconciler or finalizer). The result decides what happens next, in this one place:
//   Action requeueAfterMs > 0 → forget backoff, queue again after that delay   (result requeue_after)
//   Action requeueAfterMs = 0 → queue again after the key's backoff            (result requeue)
//   Action awaitChange        → forget backoff, wait for an event or resync    (result success)
//   terminal error            → report, forget, no retry                       (result error)
//   any other error           → report, queue again after the key's backoff    (result error)
// A jittered periodic resync enqueues every key as a safety net against missed events.
import type { Logger } from "pino";
import type { Observable, Subscription } from "rxjs";
import { classOf, type ErrorClass, messageOf, OperatorError, reasonOf } from "../api/errors.ts";
import type { ResourceKey } from "../api/resources.ts";
import { silentLogger } from "../observability/logger.ts";
import {
  activeWorkers,
  maxConcurrentReconciles,
  reconcileErrors,
  reconcileTime,
  reconcileTotal,
} from "../observability/metrics.ts";
import type { BackoffOptions } from "./backoff.ts";
import { FailureLog } from "./failure-log.ts";
import { HeapCompaction, type HeapCompactionOptions } from "./heap-compaction.ts";
import { type PrioritizedKeys, prioritized, subscribeKeys } from "./key-sources.ts";
import type { Action } from "./reconcile.ts";
import { LOW_PRIORITY, WorkQueue } from "./workqueue.ts";

/** Reconciles (or finalizes) one key; honours `signal`, which aborts on shutdown after the grace period. */
export type Dispatch = (key: ResourceKey, signal: AbortSignal) => Promise<Action>;

export interface ControllerOptions {
  /** Label `controller` (and the workqueue's `name`): "trainingjob", "mlopsstack", or one shared name. */
  readonly name: string;
  readonly dispatch: Dispatch;
  /**
   * Keys whose desired or observed state may have changed: a plain stream's at NORMAL_PRIORITY, its
   * listing at LOW_PRIORITY; or the stream's own (key-sources.ts).
   */
  readonly sources?: readonly (Observable<ResourceKey> | PrioritizedKeys)[];
  /** Every key the controller is responsible for: enqueued at start and on each resync. */
  readonly keys?: () => Iterable<ResourceKey>;
  /** Workers, hence reconciles running at once. Default 4. */
  readonly concurrency?: number;
  /** Period of the resync; 0 disables it. Default 10 min. */
  readonly resyncMs?: number;
  /** Fraction of random spread of each resync period. Default 0.1 (±10%). */
  readonly resyncJitter?: number;
  /** How long `stop` lets in-flight reconciles finish before aborting them. Default 10 s. */
  readonly gracePeriodMs?: number;
  /** Per-key error backoff. Default 750 ms doubling to 15 min. */
  readonly backoff?: BackoffOptions;
  readonly log?: Logger;
  /** Called for every failed reconcile, after the retry decision (events, conditions). */
  readonly onError?: (report: ErrorReport) => void;
  /** Randomness in [0, 1) for the resync jitter. Default Math.random. */
  readonly random?: () => number;
  /** Monotonic clock in milliseconds. Default performance.now. */
  readonly now?: () => number;
  /** Give back what a burst of work grew the heap by, once quiet (heap-compaction.ts). Default off. */
  readonly compactHeap?: boolean | Omit<HeapCompactionOptions, "isQuiet" | "log">;
}

export interface Failure {
  readonly key: ResourceKey;
  readonly reason: string;
  readonly message: string;
}

export interface ErrorReport extends Failure {
  readonly terminal: boolean;
  /** transient (retried with backoff), waiting (looked at again after a delay) or stalled (not retried). */
  readonly errorClass: ErrorClass;
  /** Delay before the retry; absent when the key is not retried. */
  readonly retryInMs?: number;
  readonly error: unknown;
}

export interface IdleSummary {
  /** Keys whose last reconcile succeeded. */
  readonly reconciled: number;
  /** Keys whose last reconcile failed, or that were still pending at the timeout; sorted by key. */
  readonly failed: Failure[];
  readonly timedOut: boolean;
}

export interface StopResult {
  /** Keys whose reconcile ignored the abort and was still running after a second grace period. */
  readonly abandoned: ResourceKey[];
}

type State = "new" | "running" | "stopped";

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly concurrency: number;
  readonly #options: ControllerOptions;
  readonly #log: Logger;
  readonly #failureLog: FailureLog; // an outage's failures counted into a line per SUMMARY_MS
  readonly #now: () => number;
  readonly #sources: PrioritizedKeys[];
  readonly #inFlight = new Map<ResourceKey, AbortController>();
  readonly #compaction: HeapCompaction | undefined;
  /** Nothing queued and nothing being reconciled (keys waiting for a delay aside). */
  readonly #isQuiet = () => this.queue.length === 0 && this.#inFlight.size === 0;
  #state: State = "new";
  #once = false;
  #workers: Promise<void> | undefined;
  #subscription: Subscription | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  #stopping: Promise<StopResult> | undefined;
  /** --once bookkeeping: the last outcome of each key. */
  readonly #reconciled = new Set<ResourceKey>();
  readonly #failures = new Map<ResourceKey, Failure>();
  readonly #m;

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.concurrency = options.concurrency ?? 4;
    if (!(Number.isInteger(this.concurrency) && this.concurrency >= 1)) {
      throw new RangeError(
        `controller ${this.name}: concurrency must be an integer >= 1, got ${this.concurrency}`,
      );
    }
    this.#options = options;
    this.#log = (options.log ?? silentLogger()).child({ controller: this.name });
    this.#failureLog = new FailureLog(this.#log);
    this.#now = options.now ?? (() => performance.now());
    this.#sources = (options.sources ?? []).map(prioritized);
    this.queue = new WorkQueue({
      name: this.name,
      now: this.#now,
      ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
    });
    const labels = { controller: this.name };
    this.#m = {
      active: activeWorkers.labels(labels),
      time: reconcileTime.labels(labels),
      total: {
        success: reconcileTotal.labels({ ...labels, result: "success" }),
        error: reconcileTotal.labels({ ...labels, result: "error" }),
        requeue: reconcileTotal.labels({ ...labels, result: "requeue" }),
        requeue_after: reconcileTotal.labels({ ...labels, result: "requeue_after" }),
      },
    };
    // As controller-runtime: every result series exists from the start, at 0.
    for (const series of Object.values(this.#m.total)) series.inc(0);
    this.#m.active.set(0);
    maxConcurrentReconciles.labels(labels).set(this.concurrency);
    const compaction = options.compactHeap === true ? {} : options.compactHeap || undefined;
    this.#compaction =
      compaction && new HeapCompaction({ ...compaction, isQuiet: this.#isQuiet, log: this.#log });
  }

  /** Adds an event stream (before start). A stream that errors is logged and dropped; the others go on. */
  watch(source: Observable<ResourceKey>): this {
    if (this.#state !== "new") throw new Error(`controller ${this.name}: watch() after start`);
    this.#sources.push(prioritized(source));
    return this;
  }

  /** Runs until `stop`: events, requeues and resyncs all feed the queue. */
  start(): void {
    this.#launch(false);
    this.#scheduleResync();
    // Armed now, not only when a reconcile ends: a directory with nothing to reconcile gives its
    // start-up back too (a reconcile that ends meanwhile arms it again).
    if (this.#isQuiet()) this.#compaction?.quiet();
  }

  /** Something outside the reconciles allocated (a /metrics scrape): the compaction is armed as by a reconcile's end. */
  allocatedOutside(): void {
    if (this.#isQuiet()) this.#compaction?.quiet();
  }

  /**
   * Enqueues every key from `keys()` now, behind the keys events report (LOW_PRIORITY: they only may
   * have changed), but a key waiting for its retry after a failure (an outage: not tried and logged
   * at each resync besides its backoff); returns how many.
   */
  resync(): number {
    let count = 0;
    try {
      for (const key of this.#options.keys?.() ?? []) {
        if (this.queue.backingOff(key)) continue;
        this.queue.add(key, LOW_PRIORITY);
        count++;
      }
    } catch (error) {
      this.#log.error({ err: error }, `controller ${this.name}: listing keys for resync failed`);
    }
    return count;
  }

  /**
   * `--once`: reconciles every key until the queue is empty, nothing is in flight and no retry is
   * pending. Requeues asked by an Action are not followed; errors are retried with backoff until
   * `timeoutMs`, when in-flight reconciles are aborted. Stops the controller.
   */
  async runUntilIdle(options: {
    readonly timeoutMs: number;
    readonly signal?: AbortSignal;
  }): Promise<IdleSummary> {
    this.#launch(true);
    let timer: NodeJS.Timeout | undefined;
    // An aborted signal ends the wait as a timeout does: stop, then report what is unfinished.
    const timedOut = await new Promise<boolean>((resolve, reject) => {
      timer = setTimeout(() => resolve(true), options.timeoutMs);
      options.signal?.addEventListener("abort", () => resolve(true), { once: true });
      this.#settled().then(() => resolve(false), reject);
    });
    clearTimeout(timer);
    const pending = this.queue.pending() as ResourceKey[];
    const reason = new OperatorError(
      "Timeout",
      `controller ${this.name}: not done within ${options.timeoutMs} ms`,
    );
    await this.#stop(0, reason);
    for (const key of [...pending, ...this.#inFlight.keys()]) {
      if (!this.#failures.has(key)) {
        this.#failures.set(key, {
          key,
          reason: "Timeout",
          message: `${key}: not reconciled within ${options.timeoutMs} ms`,
        });
      }
    }
    const failed = [...this.#failures.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { reconciled: this.#reconciled.size, failed, timedOut };
  }

  /**
   * Stops intake (events, resync, queued keys), lets in-flight reconciles finish for the grace period,
   * then aborts their signals and waits for them (at most one more grace period). Idempotent.
   */
  stop(options: { readonly gracePeriodMs?: number } = {}): Promise<StopResult> {
    const grace = options.gracePeriodMs ?? this.#options.gracePeriodMs ?? 10_000;
    return this.#stop(grace, new OperatorError("Cancelled", `controller ${this.name} is stopping`));
  }

  #launch(once: boolean): void {
    if (this.#state !== "new") throw new Error(`controller ${this.name}: already started`);
    this.#state = "running";
    this.#once = once;
    this.#workers = this.queue.run(this.concurrency, (key) => this.#reconcile(key as ResourceKey));
    this.#subscription = subscribeKeys(
      this.#sources,
      (key, priority) => this.queue.add(key, priority),
      (index, error) =>
        this.#log.error(
          { err: error },
          `controller ${this.name}: event source #${index} failed and was dropped`,
        ),
    );
    this.resync();
  }

  #scheduleResync(): void {
    const period = this.#options.resyncMs ?? 600_000;
    if (!(period > 0) || this.#options.keys === undefined || this.#state !== "running") return;
    const jitter = this.#options.resyncJitter ?? 0.1;
    const random = this.#options.random ?? Math.random;
    const delay = Math.max(1, Math.round(period * (1 + jitter * (2 * random() - 1))));
    this.#resyncTimer = setTimeout(() => {
      const count = this.resync();
      this.#log.debug({ keys: count }, `controller ${this.name}: resync`);
      this.#scheduleResync();
    }, delay);
    this.#resyncTimer.unref();
  }

  async #reconcile(key: ResourceKey): Promise<void> {
    const abort = new AbortController();
    this.#inFlight.set(key, abort);
    this.#m.active.inc();
    const started = this.#now();
    try {
      const action = await this.#options.dispatch(key, abort.signal);
      this.#succeeded(key, action);
    } catch (error) {
      this.#failed(key, error, abort.signal);
    } finally {
      this.#m.time.observe((this.#now() - started) / 1000);
      this.#m.active.dec();
      this.#inFlight.delete(key);
      if (this.#isQuiet()) this.#compaction?.quiet();
    }
  }

  #succeeded(key: ResourceKey, action: Action): void {
    if (this.#once) {
      this.#failures.delete(key);
      this.#reconciled.add(key);
    }
    if ("awaitChange" in action) {
      this.#m.total.success.inc();
      this.queue.forget(key);
    } else if (action.requeueAfterMs > 0) {
      this.#m.total.requeue_after.inc();
      this.queue.forget(key);
      if (!this.#once) this.queue.addAfter(key, action.requeueAfterMs);
    } else {
      this.#m.total.requeue.inc();
      if (this.#once) this.queue.forget(key);
      else this.queue.addRateLimited(key);
    }
  }

  #failed(key: ResourceKey, error: unknown, signal: AbortSignal): void {
    const cancelled = signal.aborted && !(error instanceof OperatorError);
    const reason = cancelled ? reasonOf(signal.reason) : reasonOf(error);
    const message = cancelled ? `${messageOf(signal.reason)} (${messageOf(error)})` : messageOf(error);
    const errorClass = cancelled ? "transient" : classOf(error);
    const terminal = errorClass === "stalled";
    if (this.#once) {
      this.#reconciled.delete(key);
      this.#failures.set(key, { key, reason, message });
    }
    if (errorClass === "waiting" && error instanceof OperatorError) {
      // Not an error: a dependency is not ready. Look again after its delay, with no backoff growth.
      const retryInMs = error.retryAfterMs ?? 0;
      this.#m.total.requeue_after.inc();
      this.queue.forget(key);
      if (!this.#once && !this.queue.shuttingDown) this.queue.addAfter(key, retryInMs);
      this.#log.debug({ key, reason, retryInMs }, `${key}: waiting: ${message}`);
      this.#options.onError?.({ key, reason, message, terminal, errorClass, error, retryInMs });
      return;
    }
    this.#m.total.error.inc();
    reconcileErrors.labels({ controller: this.name, reason, class: errorClass }).inc();
    let retryInMs: number | undefined;
    if (terminal || this.queue.shuttingDown) {
      this.queue.forget(key);
    } else {
      retryInMs = this.queue.addRateLimited(key);
    }
    this.#failureLog.failed({ key, reason, class: errorClass, retryInMs, terminal }, message);
    this.#options.onError?.({
      key,
      reason,
      message,
      terminal,
      errorClass,
      error,
      ...(retryInMs === undefined ? {} : { retryInMs }),
    });
  }

  /** Resolves once the queue stays idle over a turn of timers and of I/O (a reconcile's timers fire first). */
  async #settled(): Promise<void> {
    for (;;) {
      await this.queue.whenIdle();
      await new Promise((resolve) => setTimeout(resolve, 0));
      await new Promise((resolve) => setImmediate(resolve));
      if (this.queue.isIdle()) return;
    }
  }

  #stop(graceMs: number, reason: OperatorError): Promise<StopResult> {
    this.#stopping ??= this.#shutdown(graceMs, reason).finally(() => this.#failureLog.close());
    return this.#stopping;
  }

  async #shutdown(graceMs: number, reason: OperatorError): Promise<StopResult> {
    this.#state = "stopped";
    this.#subscription?.unsubscribe();
    if (this.#resyncTimer !== undefined) clearTimeout(this.#resyncTimer);
    this.#compaction?.close();
    const drained = this.queue.shutdown();
    if (!(await within(drained, graceMs))) {
      this.#log.info(
        { inFlight: this.#inFlight.size },
        `controller ${this.name}: aborting in-flight reconciles`,
      );
      for (const abort of this.#inFlight.values()) abort.abort(reason);
      if (!(await within(drained, Math.max(graceMs, 1_000)))) {
        const abandoned = [...this.#inFlight.keys()];
        this.#log.error({ abandoned }, `controller ${this.name}: reconciles ignored the abort; not waiting`);
        return { abandoned };
      }
    }
    await this.#workers;
    return { abandoned: [] };
  }
}

/** True when `promise` settles within `ms`; the timer is cleared either way. */
async function within(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

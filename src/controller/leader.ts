// Leader election (client-go's tools/leaderelection, as controller-runtime uses it): a candidate
// tries to acquire a lock every retry period; the leader renews it every retry period and, when no
// renewal succeeded within the renew deadline, gives leadership up at once (before the lock's lease
// runs out, so no other replica can lead while it still writes). The lock itself is a port: a
// Consul session lock or a Kubernetes Lease implement it.
import type { Logger } from "pino";
import { BehaviorSubject, type Observable } from "rxjs";
import { messageOf } from "../api/errors.ts";
import { silentLogger } from "../observability/logger.ts";
import { leaderElectionMasterStatus } from "../observability/metrics.ts";

/** A lock one holder at a time may hold for a lease duration unless renewed. */
export interface LeaseLock {
  /** What the lock is, for logs: "consul key mlops-operator/leader/x", "lease ns/name". */
  readonly description: string;
  /** Takes the lock, or renews it when already held by this candidate; false when another holds it. */
  tryAcquireOrRenew(signal: AbortSignal): Promise<boolean>;
  /** Gives the lock up so another candidate may take it without waiting for the lease to run out. */
  release(): Promise<void>;
}

export interface LeaderTimings {
  /** How long a lease lasts without renewal. Default 15 s. */
  readonly leaseDurationMs: number;
  /** How long the leader keeps trying to renew before it gives up leadership. Default 10 s. */
  readonly renewDeadlineMs: number;
  /** How often candidates try to acquire and the leader renews. Default 2 s. */
  readonly retryPeriodMs: number;
}

export const DEFAULT_LEADER_TIMINGS: LeaderTimings = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

export class LeaderTimingsError extends Error {
  readonly reason = "InvalidLeaderElection";
}

/** The rules client-go's NewLeaderElector enforces (leaderelection.go). */
export function checkLeaderTimings(timings: LeaderTimings): LeaderTimings {
  const { leaseDurationMs: lease, renewDeadlineMs: renew, retryPeriodMs: retry } = timings;
  if (!(retry > 0)) throw new LeaderTimingsError("leader election: retry period must be greater than zero");
  if (!(lease > renew)) {
    throw new LeaderTimingsError(
      `leader election: lease duration (${lease} ms) must be greater than the renew deadline (${renew} ms)`,
    );
  }
  if (!(renew > 1.2 * retry)) {
    throw new LeaderTimingsError(
      `leader election: renew deadline (${renew} ms) must be greater than 1.2 × the retry period (${retry} ms)`,
    );
  }
  return timings;
}

export interface LeaderElectorOptions extends Partial<LeaderTimings> {
  /** Label `name` of leader_election_master_status. */
  readonly name: string;
  readonly lock: LeaseLock;
  readonly log?: Logger;
  /** Monotonic clock in milliseconds. Default performance.now. */
  readonly now?: () => number;
}

/** Campaigns for a lock; `leading` tells when this candidate leads (true) and when it lost (false). */
export class LeaderElector {
  readonly name: string;
  readonly timings: LeaderTimings;
  readonly #lock: LeaseLock;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #leading = new BehaviorSubject(false);
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(options: LeaderElectorOptions) {
    this.name = options.name;
    this.timings = checkLeaderTimings({
      leaseDurationMs: options.leaseDurationMs ?? DEFAULT_LEADER_TIMINGS.leaseDurationMs,
      renewDeadlineMs: options.renewDeadlineMs ?? DEFAULT_LEADER_TIMINGS.renewDeadlineMs,
      retryPeriodMs: options.retryPeriodMs ?? DEFAULT_LEADER_TIMINGS.retryPeriodMs,
    });
    this.#lock = options.lock;
    this.#log = (options.log ?? silentLogger()).child({ leaderElection: this.name });
    this.#now = options.now ?? (() => performance.now());
    leaderElectionMasterStatus.labels({ name: this.name }).set(0);
  }

  /** Emits false at first, true on acquiring, false on losing (then completes: a lost elector is done). */
  get leading(): Observable<boolean> {
    return this.#leading.asObservable();
  }

  get isLeader(): boolean {
    return this.#leading.value;
  }

  /** Campaigns in the background until `release`, or until leadership, once won, is lost. */
  start(): void {
    this.#loop ??= this.#run().catch((error: unknown) => {
      this.#log.error({ err: messageOf(error) }, `leader election ${this.name} failed`);
      this.#set(false);
    });
  }

  /** Stops campaigning; a leader releases the lock (so a follower takes over at its next retry). */
  async release(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
    if (this.#leading.value) {
      this.#set(false);
      await this.#lock.release().catch((error: unknown) => {
        this.#log.warn({ err: messageOf(error) }, `releasing ${this.#lock.description} failed`);
      });
      this.#log.info(`released ${this.#lock.description}`);
    }
    this.#leading.complete();
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    const { renewDeadlineMs, retryPeriodMs } = this.timings;
    this.#log.info(`attempting to acquire ${this.#lock.description}`);
    while (!signal.aborted && !(await this.#attempt(signal))) await this.#pause(retryPeriodMs);
    if (signal.aborted) return;
    let renewed = this.#now();
    this.#set(true);
    this.#log.info(`acquired ${this.#lock.description}: leading`);
    while (!signal.aborted) {
      // Never sleeps past the deadline: leadership ends at it, not a retry period later.
      await this.#pause(Math.min(retryPeriodMs, Math.max(0, renewed + renewDeadlineMs - this.#now())));
      if (signal.aborted) return;
      // A renewal still unanswered when the deadline passes counts as failed.
      const left = renewed + renewDeadlineMs - this.#now();
      const ok = left > 0 && (await this.#attempt(signal, left));
      if (ok) renewed = this.#now();
      else if (this.#now() - renewed >= renewDeadlineMs || left <= 0) break;
    }
    if (signal.aborted) return;
    this.#set(false);
    this.#log.error(
      `failed to renew ${this.#lock.description} within ${renewDeadlineMs} ms: leadership lost`,
    );
    this.#leading.complete();
  }

  /** One try; false on any error (logged) or after `timeoutMs`. */
  async #attempt(signal: AbortSignal, timeoutMs?: number): Promise<boolean> {
    const attempt = AbortSignal.any([
      signal,
      ...(timeoutMs === undefined ? [] : [AbortSignal.timeout(Math.max(1, Math.ceil(timeoutMs)))]),
    ]);
    try {
      return await new Promise<boolean>((resolve, reject) => {
        attempt.addEventListener("abort", () => resolve(false), { once: true });
        this.#lock.tryAcquireOrRenew(attempt).then(resolve, reject);
      });
    } catch (error) {
      this.#log.warn({ err: messageOf(error) }, `${this.#lock.description}: ${messageOf(error)}`);
      return false;
    }
  }

  #pause(ms: number): Promise<void> {
    const signal = this.#abort.signal;
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener(
        "abort",
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }

  #set(leading: boolean): void {
    leaderElectionMasterStatus.labels({ name: this.name }).set(leading ? 1 : 0);
    if (this.#leading.value !== leading && !this.#leading.closed) this.#leading.next(leading);
  }
}

// The admission decisions of every TrainingQueue: the admission core (admission.ts) run over what
// the ledger (ledger.ts) reads of the queues and their jobs, the runs it admits taken, preemption
// chosen, and the jobs whose answer changed reported. It implements the TrainingJob kind's
// AdmissionGate port.
//
// Usage is counted from what the scheduler reports: a job's reconciler says when its run is
// registered (hold) and when it finished, was suspended or deleted (release).
import { defer, from, type Observable, Subject } from "rxjs";
import { keyOf, type ResourceKey, type TrainingJob, type TrainingQueue } from "../api/resources.ts";
import type { ResourceIndex } from "../controller/reconcile.ts";
import { type AdmissionResult, admit, type PendingRun, type QueueInput } from "./admission.ts";
import { type GateJob, jobKeyOf, QueueLedger, type QueueView, queueIdOf, wantsToRun } from "./ledger.ts";
import {
  Coalescer,
  type Delayed,
  DelayLine,
  EXACT_POSITIONS,
  POSITION_DELAY_MS,
  positionDelayMs,
  QUEUE_STATUS_DELAY_MS,
} from "./positions.ts";
import { type AdmittedRun, type PreemptingQueue, preemptionFor } from "./preemption.ts";
import type { Scope } from "./scope-memo.ts";

export type { QueueView } from "./ledger.ts";

type Verdict =
  | { readonly admitted: true }
  | {
      readonly admitted: false;
      readonly reason: "WaitingForQuota" | "QuotaExceeded" | "QueueNotFound";
      readonly message: string;
      readonly position?: number;
    };

export class QueueAdmission {
  readonly #resources: ResourceIndex;
  readonly #ledger: QueueLedger;
  readonly #changes = new Subject<ResourceKey>();
  /** Jobs just admitted by a call about another job (admissions()). */
  readonly #admitted = new Subject<ResourceKey>();
  /** Keys that may wait behind everything else (backgroundChanges). */
  readonly #background = new Subject<ResourceKey>();
  /** Admitted runs chosen to be preempted (preemption.ts), until their job stops them: by whom, why. */
  readonly #preempting = new Map<ResourceKey, { readonly by: ResourceKey; readonly message: string }>();
  /**
   * Waiting jobs whose move is reported on backgroundChanges() (or is to be, when due: positions.ts)
   * and whose reconcile has not asked for admission since: a further move is not reported again, as
   * that reconcile reads the position as it is then (at a release, every waiting job of the queue
   * moves up one; reported each time, a queue 100 deep sent ~100 keys per release to a workqueue
   * that already held them), unless it is due sooner now (the run moved from the tail to the head).
   */
  readonly #reportedMoved = new Map<ResourceKey, Delayed<ResourceKey>>();
  /** Moves reported after POSITION_DELAY_MS, queues' counts after QUEUE_STATUS_DELAY_MS (`delayWrites`), else at once. */
  readonly #delayed:
    | {
        readonly head: DelayLine<ResourceKey>;
        readonly tail: DelayLine<ResourceKey>;
        readonly queues: Coalescer<string>;
      }
    | undefined;
  readonly #now: () => number;
  /** Counts admissions per queue id (metrics). */
  readonly onAdmitted: ((queue: string) => void) | undefined;
  /** Counts preempted runs per queue id (metrics). */
  readonly onPreempted: ((queue: string) => void) | undefined;

  /**
   * `changes`: the resource index's change feed (keys whose lookup changed), which keeps the gate's
   * index of jobs by queue and its reads of each scope; without it the gate reads every job of the
   * resource index on each call. `delayWrites`: a moved run is reported after POSITION_DELAY_MS, a
   * queue whose counts a release or an admission changed after QUEUE_STATUS_DELAY_MS (a running
   * operator; not `run --once`, which ends when nothing is left to do), on the clock `now`.
   */
  constructor(
    resources: ResourceIndex,
    options: {
      onAdmitted?: (queue: string) => void;
      onPreempted?: (queue: string) => void;
      changes?: Observable<ResourceKey>;
      delayWrites?: boolean;
      now?: () => number;
    } = {},
  ) {
    this.#resources = resources;
    this.#ledger = new QueueLedger(resources, options.changes);
    this.onAdmitted = options.onAdmitted;
    this.onPreempted = options.onPreempted;
    this.#now = options.now ?? (() => performance.now());
    const due = (entry: Delayed<ResourceKey>) => {
      // Else asked since, gone, or put again to be due sooner.
      if (this.#reportedMoved.get(entry.key) === entry) this.#background.next(entry.key);
    };
    this.#delayed = options.delayWrites
      ? {
          head: new DelayLine(POSITION_DELAY_MS.head, due, this.#now),
          tail: new DelayLine(POSITION_DELAY_MS.tail, due, this.#now),
          queues: new Coalescer(QUEUE_STATUS_DELAY_MS, (id) => this.#countsChanged(id, true), this.#now),
        }
      : undefined;
  }

  /**
   * The queue's counts changed (a release, an admission): its status (usage, pending, admitted, and
   * the metrics read from it) is written again, once for the changes of QUEUE_STATUS_DELAY_MS when
   * writes wait. A queue of a busy cohort otherwise wrote its status at every admission (0.3 status
   * writes per run over 100 queues admitting 1,000 runs a second).
   */
  #countsChanged(id: string, due = false): void {
    if (due || !this.#delayed) this.#changes.next(`TrainingQueue/${id}` as ResourceKey);
    else this.#delayed.queues.put(id);
  }

  /** Keys to reconcile again: jobs admitted, waiting jobs of a queue that changed, runs to preempt, the queues. */
  changes() {
    return this.#changes.asObservable();
  }

  /**
   * Jobs admitted by a call about another job (a release, an admission), also reported on changes():
   * their runs are registered before other work (the composition root queues them at HIGH_PRIORITY),
   * as the release → next registration latency is what a queue's users wait.
   */
  admissions() {
    return this.#admitted.asObservable();
  }

  /**
   * Every queue's key, once, when subscribed (the controller's start): reconciled first, each admits
   * what fits (admitWaiting), so every queue starts its runs at once, not when one of its jobs comes
   * up among the first looks at every resource (the composition root queues them at HIGH_PRIORITY).
   */
  atStart(): Observable<ResourceKey> {
    return defer(() => from(this.#resources.list("TrainingQueue").map((q) => keyOf(q))));
  }

  /**
   * Keys to reconcile when nothing more urgent waits (the composition root queues them at
   * LOW_PRIORITY): waiting jobs whose status no longer says their place (a run ahead of them was
   * admitted or left, or one of higher priority arrived), and the waiting jobs of a queue this
   * process sees for the first time (all of them at start-up, when every job gets a first look anyway).
   */
  backgroundChanges() {
    return this.#background.asObservable();
  }

  holds(key: ResourceKey): boolean {
    return this.#ledger.holds(key);
  }

  hold(job: GateJob): void {
    this.#ledger.hold(job);
  }

  /** The job's status was written: what admission reads of it is read again. */
  noteStatus(key: ResourceKey): void {
    this.#ledger.noteStatus(key);
  }

  /**
   * Frees the job's quota and admits at once what now fits in its queue (its cohort's queues): the
   * jobs admitted and the queues are reconciled again; the others keep waiting.
   */
  release(key: ResourceKey): void {
    this.#preempting.delete(key);
    this.#reportedMoved.delete(key);
    const queue = this.#queueOf(key);
    if (!this.#ledger.release(key)) return;
    const scope = queue === undefined ? undefined : this.#ledger.scopeOf(queue);
    const { queues } = this.#decide(scope, undefined);
    for (const q of queues) this.#countsChanged(q.id);
  }

  /**
   * Admits what fits in the queue's scope now, as a release does: a queue looked at (at start-up,
   * before most of its jobs had their first look; after its quota grew) starts its runs at once. The
   * runs admitted are reported on admissions(); the scope's other queues are reconciled again.
   */
  admitWaiting(queue: string): void {
    const { queues, result } = this.#decide(this.#ledger.scopeOf(queue), undefined);
    if (result.admitted.length === 0) return;
    for (const q of queues) if (q.id !== queue) this.#countsChanged(q.id);
  }

  /**
   * Reconciles the waiting jobs again: those whose admission depends on `queue` (its cohort's
   * queues), in the background, when this process sees that queue for the first time; every one,
   * at once, when a queue changed or went.
   */
  wakeJobs(queue?: string): void {
    const to = queue === undefined ? this.#changes : this.#background;
    for (const job of this.#ledger.jobs(queue === undefined ? undefined : this.#ledger.scopeOf(queue))) {
      if (!this.#ledger.holding(job)) to.next(jobKeyOf(job));
    }
  }

  /** The job is gone (deleted, its run purged): its quota is released and nothing of it is kept. */
  forget(key: ResourceKey): void {
    this.release(key);
    this.#reportedMoved.delete(key);
    this.#ledger.forget(key);
  }

  /** Entries kept of jobs (quota, arrival, finished, preemptions, reported moves): none once all are gone. */
  get remembered(): number {
    return this.#ledger.remembered + this.#preempting.size + this.#reportedMoved.size;
  }

  admit(job: GateJob, now: Date): Verdict {
    const key = jobKeyOf(job);
    this.#reportedMoved.delete(key); // asking now: a later move is news to it
    if (this.#ledger.holds(key)) return { admitted: true };
    this.#ledger.ask(job, now);
    const { queues, result } = this.#decide(this.#ledger.scopeOf(queueIdOf(job)), {
      key,
      run: () => this.#ledger.pendingRun(job, now),
    });
    if (result.admitted.length > 0) {
      for (const q of queues) this.#countsChanged(q.id);
    }
    if (this.#ledger.holds(key)) return { admitted: true };
    const waiting = result.waiting.get(key);
    if (waiting?.position === 1) this.#preemptFor(job, queues, now);
    return waiting
      ? {
          admitted: false,
          reason: waiting.reason,
          message: waiting.message,
          ...(waiting.position !== undefined ? { position: waiting.position } : {}),
        }
      : { admitted: false, reason: "WaitingForQuota", message: "" };
  }

  /**
   * What the scope's queues admit now: admitted runs are taken (they hold quota from now on) and
   * waiting jobs whose position moved are reported. The scope's kept decision when nothing it was
   * made from changed (nothing is admitted then: what fitted was taken when it was made).
   */
  #decide(
    scope: ReadonlySet<string> | undefined,
    asker: { readonly key: ResourceKey; readonly run: () => PendingRun } | undefined,
  ): { queues: readonly (QueueInput & PreemptingQueue)[]; result: AdmissionResult } {
    const memo = this.#ledger.kept(scope, asker?.key);
    if (memo?.decided) return memo.decided;
    const { queues, pending: read, ordered, recorded } = this.#ledger.inputs(scope, memo);
    // A kept scope has the asker among its runs (kept() says so); a fresh read may not, yet.
    const missing = asker && !ordered && !read.some((p) => p.id === asker.key);
    const pending = missing ? [...read, asker.run()] : read;
    const result = admit(queues, pending, { ordered });
    this.#take(result, pending, asker?.key);
    this.#noteMoves(result, recorded, asker?.key, memo, queues.length);
    if (memo) {
      // What a decision over the entries as they are now gives: the same waiting runs, none admitted.
      memo.decided = {
        queues: queues.map((q) => ({ ...q, usage: result.usage.get(q.id) ?? q.usage })),
        result: { ...result, admitted: [] },
      };
    }
    return { queues, result };
  }

  /** Admitted runs hold their quota from now on; each is reconciled again (but the asker). */
  #take(result: AdmissionResult, pending: readonly PendingRun[], asker: ResourceKey | undefined): void {
    if (result.admitted.length === 0) return;
    // Mostly one run admitted of a hundred waiting: looked up, not a map of them all built (but for
    // many at once: a start-up, a queue's quota raised).
    const byId = result.admitted.length > 8 ? new Map(pending.map((p) => [p.id, p])) : undefined;
    for (const id of result.admitted) {
      const run = byId ? byId.get(id) : pending.find((p) => p.id === id);
      if (!run) continue;
      this.#ledger.take(run);
      this.#reportedMoved.delete(id as ResourceKey); // admitted: no position to write
      this.onAdmitted?.(run.queue);
      if (id === asker) continue;
      this.#changes.next(id as ResourceKey);
      this.#admitted.next(id as ResourceKey);
    }
  }

  /**
   * Reports the waiting jobs (but `asker`, reconciled now) whose written position is stale (at the
   * head of the queue when it changed, further back when it is off by a tenth: positions.ts), at once
   * or when due (`delayWrites`), unless reported already and not asked since (or due later).
   * Reasons are not compared: a queue's change wakes its jobs (wakeJobs), and a preempted run's
   * status says Preempted where admission says WaitingForQuota.
   *
   * With moves reported after a delay and the scope kept (`memo`), every waiting run is looked at
   * once per POSITION_DELAY_MS.head per scope; the decisions between look at the head of each queue
   * only (to the first run past EXACT_POSITIONS), where a release moves runs to a stale position: a
   * release in a queue n deep looked at all n runs (a tenth of the operator's time at n = 1,000).
   * What only the whole look finds (a run further back off by a tenth, one pushed back out of the
   * head, one that can never be admitted) is reported at most that much later.
   */
  #noteMoves(
    result: AdmissionResult,
    recorded: { get(id: string): number | undefined },
    asker: ResourceKey | undefined,
    memo: Scope | undefined,
    queueCount: number,
  ): void {
    const now = this.#now();
    const whole = !this.#delayed || !memo || now - memo.walkedAt >= POSITION_DELAY_MS.head;
    if (whole && memo) memo.walkedAt = now;
    /** The queues whose head was looked at (a partial look ends once every queue's was). */
    const past = whole ? undefined : new Set<string>();
    result.waiting.eachPosition((id, position, queue) => {
      if (past && (position === undefined || position > EXACT_POSITIONS)) {
        if (position !== undefined) past.add(queue);
        return past.size >= queueCount;
      }
      const key = id as ResourceKey;
      const delay = key === asker ? undefined : positionDelayMs(recorded.get(id), position);
      if (delay === undefined) return false;
      const reported = this.#reportedMoved.get(key);
      if (!this.#delayed) {
        if (reported !== undefined) return false;
        this.#reportedMoved.set(key, { key, due: now });
        this.#background.next(key);
      } else if (reported === undefined || reported.due > now + delay) {
        const line = this.#delayed[delay === POSITION_DELAY_MS.head ? "head" : "tail"];
        this.#reportedMoved.set(key, line.put(key));
      }
      return false;
    });
  }

  /** One queue's usage, admitted and pending counts, for its status and metrics. */
  view(queue: TrainingQueue): QueueView {
    return this.#ledger.view(queue);
  }

  /** Why the job's admitted run is to be stopped for another's admission; undefined once not needed. */
  preempting(key: ResourceKey): { readonly by: ResourceKey; readonly message: string } | undefined {
    const chosen = this.#preempting.get(key);
    if (!chosen) return undefined;
    const by = this.#resources.get(chosen.by);
    // The run it was to make room for is admitted already, or no longer waits.
    if (
      this.#ledger.holds(chosen.by) ||
      this.#ledger.isDone(chosen.by) ||
      by?.kind !== "TrainingJob" ||
      !wantsToRun(by)
    ) {
      this.#preempting.delete(key);
      return undefined;
    }
    return chosen;
  }

  /** The job's run was stopped for preemption: its quota goes to the waiting runs; it waits again. */
  preempted(key: ResourceKey): void {
    const queue = this.#queueOf(key);
    this.release(key);
    this.#ledger.requeue(key);
    if (queue !== undefined) this.onPreempted?.(queue);
    this.#changes.next(key);
  }

  /** The queue the job holds quota in, else the one its spec names (undefined: none). */
  #queueOf(key: ResourceKey): string | undefined {
    const job = this.#resources.get(key);
    return (
      this.#ledger.heldIn(key) ?? (job?.kind === "TrainingJob" && job.spec.queue ? queueIdOf(job) : undefined)
    );
  }

  /** Chooses admitted runs of lower priority to stop so that `job`, the head of its queue, fits. */
  #preemptFor(job: GateJob, policies: readonly PreemptingQueue[], now: Date): void {
    if (!policies.some((q) => q.id === queueIdOf(job) && q.preemption === "LowerPriority")) return;
    const scope = new Set(policies.map((q) => q.id));
    const admitted: AdmittedRun[] = [];
    for (const other of this.#ledger.jobs(scope)) {
      const id = jobKeyOf(other);
      if (!scope.has(queueIdOf(other)) || !this.#ledger.holding(other, id)) continue;
      admitted.push({
        id,
        queue: queueIdOf(other),
        request: this.#ledger.requestOf(other as TrainingJob, id),
        priority: other.spec.priority ?? 50,
        // Admitted by this process and not yet written to status: the newest.
        admittedAt: Date.parse(other.status?.queue?.admittedAt ?? "") || now.getTime(),
        preempting: this.#preempting.has(id),
      });
    }
    const choice = preemptionFor(policies, admitted, this.#ledger.pendingRun(job, now));
    if (!choice.preempt) return;
    const by = jobKeyOf(job);
    const name = `${job.metadata.namespace}/${job.metadata.name}`;
    const message = `preempted for ${name} (priority ${job.spec.priority ?? 50}) of queue ${queueIdOf(job)}`;
    for (const id of choice.victims) {
      this.#preempting.set(id as ResourceKey, { by, message });
      this.#changes.next(id as ResourceKey);
    }
  }
}

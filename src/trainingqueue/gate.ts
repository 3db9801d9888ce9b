// The admission state of every TrainingQueue: which jobs hold quota, which wait, and the admission
// core (admission.ts) run over them. It implements the TrainingJob kind's AdmissionGate port.
//
// Usage is counted from what the scheduler reports: a job's reconciler says when its run is
// registered (hold) and when it finished, was suspended or deleted (release). Until a job has been
// looked at by this process (after a restart), a job whose status says it was admitted and has not
// finished counts as holding: nothing is admitted over quota before usage is known again.
import { type Observable, Subject } from "rxjs";
import { makeKey, type ResourceKey, type TrainingJob, type TrainingQueue } from "../api/resources.ts";
import type { ResourceIndex } from "../controller/reconcile.ts";
import {
  type AdmissionResult,
  type Amounts,
  addAmounts,
  admit,
  type PendingRun,
  type QueueInput,
  RESOURCES,
  type ResourceName,
  requestOf,
} from "./admission.ts";
import { queueInputOf } from "./input.ts";
import { type AdmittedRun, type PreemptingQueue, preemptionFor } from "./preemption.ts";
import { QueueIndex } from "./queue-index.ts";

export interface QueueView {
  readonly usage: Amounts;
  readonly admitted: number;
  readonly pending: number;
}

type Verdict =
  | { readonly admitted: true }
  | {
      readonly admitted: false;
      readonly reason: "WaitingForQuota" | "QuotaExceeded" | "QueueNotFound";
      readonly message: string;
      readonly position?: number;
    };

interface GateJob {
  readonly metadata: { readonly namespace: string; readonly name: string };
  readonly spec: {
    readonly queue?: string;
    readonly priority?: number;
    readonly replicas: number;
    readonly resources: { readonly gpus?: number; readonly cpu?: number; readonly memoryMB?: number };
  };
}

export class QueueAdmission {
  readonly #resources: ResourceIndex;
  /** The jobs of each queue and the queues of each cohort: admission looks at one cohort's jobs. */
  readonly #index: QueueIndex;
  /** Jobs whose run holds quota, with what it requests and the queue it holds it in. */
  readonly #held = new Map<ResourceKey, { readonly request: Amounts; readonly queue: string }>();
  /** Jobs this process saw release (or never hold) quota. */
  readonly #released = new Set<ResourceKey>();
  /** Jobs released as finished, suspended or deleted: not pending until they ask again. */
  readonly #done = new Set<ResourceKey>();
  /** When a waiting job was first seen by this process. */
  readonly #firstSeen = new Map<ResourceKey, number>();
  readonly #changes = new Subject<ResourceKey>();
  /** Keys that may wait behind everything else (backgroundChanges). */
  readonly #background = new Subject<ResourceKey>();
  /** Admitted runs chosen to be preempted (preemption.ts), until their job stops them: by whom, why. */
  readonly #preempting = new Map<ResourceKey, { readonly by: ResourceKey; readonly message: string }>();
  /** Counts admissions per queue id (metrics). */
  readonly onAdmitted: ((queue: string) => void) | undefined;
  /** Counts preempted runs per queue id (metrics). */
  readonly onPreempted: ((queue: string) => void) | undefined;

  /**
   * `changes`: the resource index's change feed (keys whose lookup changed), which keeps the gate's
   * index of jobs by queue; without it the gate reads every job of the resource index on each call.
   */
  constructor(
    resources: ResourceIndex,
    options: {
      onAdmitted?: (queue: string) => void;
      onPreempted?: (queue: string) => void;
      changes?: Observable<ResourceKey>;
    } = {},
  ) {
    this.#resources = resources;
    this.#index = new QueueIndex(resources, options.changes);
    this.onAdmitted = options.onAdmitted;
    this.onPreempted = options.onPreempted;
  }

  /** Keys to reconcile again: waiting jobs of a queue whose quota was freed, and the queues. */
  changes() {
    return this.#changes.asObservable();
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
    return this.#held.has(key);
  }

  hold(job: GateJob): void {
    const key = jobKeyOf(job);
    this.#index.noteJob(job);
    this.#held.set(key, { request: requestOf(job.spec.replicas, job.spec.resources), queue: queueIdOf(job) });
    this.#released.delete(key);
    this.#done.delete(key);
    this.#firstSeen.delete(key);
  }

  /**
   * Frees the job's quota and admits at once what now fits in its queue (its cohort's queues): the
   * jobs admitted and the queues are reconciled again; the others keep waiting.
   */
  release(key: ResourceKey): void {
    this.#preempting.delete(key);
    const held = this.#held.get(key);
    const had = this.#held.delete(key) || !this.#released.has(key);
    this.#released.add(key);
    this.#done.add(key);
    this.#firstSeen.delete(key);
    if (!had) return;
    this.#index.sync();
    const job = this.#resources.get(key);
    const queue = held?.queue ?? (job?.kind === "TrainingJob" && job.spec.queue ? queueIdOf(job) : undefined);
    const scope = queue === undefined ? undefined : this.#scopeOf(queue);
    const { queues, pending, recorded } = this.#world(scope);
    const result = admit(queues, pending);
    this.#take(result, pending, undefined);
    this.#noteMoves(result, recorded, undefined);
    for (const q of queues) this.#changes.next(`TrainingQueue/${q.id}` as ResourceKey);
  }

  /**
   * Reconciles the waiting jobs again: those whose admission depends on `queue` (its cohort's
   * queues), in the background, when this process sees that queue for the first time; every one,
   * at once, when a queue changed or went.
   */
  wakeJobs(queue?: string): void {
    this.#index.sync();
    const to = queue === undefined ? this.#changes : this.#background;
    for (const job of this.#jobs(queue === undefined ? undefined : this.#scopeOf(queue))) {
      const key = jobKeyOf(job);
      if (!this.#holding(job)) to.next(key);
    }
  }

  admit(job: GateJob, now: Date): Verdict {
    const key = jobKeyOf(job);
    if (this.#held.has(key)) return { admitted: true };
    this.#done.delete(key);
    if (!this.#firstSeen.has(key)) this.#firstSeen.set(key, arrivalOf(job as TrainingJob) ?? now.getTime());
    this.#released.add(key); // the asking job holds nothing until admitted
    this.#index.sync();
    this.#index.noteJob(job);
    const { queues, pending, recorded } = this.#world(this.#scopeOf(queueIdOf(job)));
    if (!pending.some((p) => p.id === key)) pending.push(this.#pendingRun(job, now));
    const result = admit(queues, pending);
    this.#take(result, pending, key);
    this.#noteMoves(result, recorded, key);
    if (result.admitted.length > 0) {
      for (const q of queues) this.#changes.next(`TrainingQueue/${q.id}` as ResourceKey);
    }
    if (result.admitted.includes(key)) return { admitted: true };
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

  /** Admitted runs hold their quota from now on; each is reconciled again (but the asker). */
  #take(result: AdmissionResult, pending: readonly PendingRun[], asker: ResourceKey | undefined): void {
    if (result.admitted.length === 0) return;
    const byId = new Map(pending.map((p) => [p.id, p]));
    for (const id of result.admitted) {
      const run = byId.get(id);
      if (!run) continue;
      this.#held.set(id as ResourceKey, { request: run.request, queue: run.queue });
      this.#released.delete(id as ResourceKey);
      this.onAdmitted?.(run.queue);
      if (id !== asker) this.#changes.next(id as ResourceKey);
    }
  }

  /**
   * Reports the waiting jobs (but `asker`, reconciled now) whose written position no longer holds.
   * Reasons are not compared: a queue's change wakes its jobs (wakeJobs), and a preempted run's
   * status says Preempted where admission says WaitingForQuota.
   */
  #noteMoves(
    result: AdmissionResult,
    recorded: ReadonlyMap<string, number | undefined>,
    asker: ResourceKey | undefined,
  ): void {
    for (const [id, waiting] of result.waiting) {
      if (id !== asker && recorded.get(id) !== waiting.position) this.#background.next(id as ResourceKey);
    }
  }

  /** The queues admission of a queue's runs depends on: its cohort's, or itself alone. */
  #scopeOf(queue: string): ReadonlySet<string> {
    return this.#index.scopeOf(queue);
  }

  /** One queue's usage, admitted and pending counts, for its status and metrics. */
  view(queue: TrainingQueue): QueueView {
    let usage: Amounts = {};
    let admitted = 0;
    let pending = 0;
    this.#index.sync();
    for (const [key, job] of this.#index.entriesIn(
      new Set([`${queue.metadata.namespace}/${queue.metadata.name}`]),
    )) {
      if (this.#holding(job, key)) {
        usage = addAmounts(
          usage,
          this.#held.get(key)?.request ?? requestOf(job.spec.replicas, job.spec.resources),
        );
        admitted += 1;
      } else if (wantsToRun(job) && !this.#done.has(key)) pending += 1;
    }
    return { usage, admitted, pending };
  }

  /** The TrainingJobs naming a queue of `scope` (every queue without one). */
  #jobs(scope?: ReadonlySet<string>): TrainingJob[] {
    return this.#index.jobsIn(scope);
  }

  /** Held in this process, or (not yet looked at since a restart) admitted by status and unfinished. */
  #holding(job: TrainingJob, key: ResourceKey = jobKeyOf(job)): boolean {
    if (this.#held.has(key)) return true;
    if (this.#released.has(key)) return false;
    return job.status?.queue?.admittedAt !== undefined && wantsToRun(job);
  }

  /** The queues of `scope` (every queue without one), their usage and their pending runs. */
  #world(scope?: ReadonlySet<string>): {
    queues: (QueueInput & PreemptingQueue)[];
    pending: PendingRun[];
    /** The position each pending job's status holds, as last written. */
    recorded: Map<string, number | undefined>;
  } {
    const usage = new Map<string, Record<ResourceName, number>>();
    const pending: PendingRun[] = [];
    const recorded = new Map<string, number | undefined>();
    const now = new Date();
    for (const [key, job] of this.#index.entriesIn(scope)) {
      if (this.#holding(job, key)) {
        const id = queueIdOf(job);
        const request = this.#held.get(key)?.request ?? requestOf(job.spec.replicas, job.spec.resources);
        const sum = usage.get(id) ?? { gpus: 0, cpu: 0, memoryMB: 0, runs: 0 };
        for (const r of RESOURCES) sum[r] += request[r] ?? 0;
        usage.set(id, sum);
      } else if (!wantsToRun(job)) {
        this.#index.rest(key); // finished or suspended, holding nothing: read again once it changes
      } else if (!this.#done.has(key)) {
        pending.push(this.#pendingRun(job, now, key));
        recorded.set(key, (job as TrainingJob).status?.queue?.position);
      }
    }
    const queues = this.#index
      .queues(scope)
      .map((q) => queueInputOf(q, usage.get(`${q.metadata.namespace}/${q.metadata.name}`)));
    return { queues, pending, recorded };
  }

  #pendingRun(job: GateJob, now: Date, key: ResourceKey = jobKeyOf(job)): PendingRun {
    return {
      id: key,
      queue: `${job.metadata.namespace}/${job.spec.queue}`,
      request: requestOf(job.spec.replicas, job.spec.resources),
      priority: job.spec.priority ?? 50,
      arrival: this.#firstSeen.get(key) ?? arrivalOf(job as TrainingJob) ?? now.getTime(),
    };
  }

  /** Why the job's admitted run is to be stopped for another's admission; undefined once not needed. */
  preempting(key: ResourceKey): { readonly by: ResourceKey; readonly message: string } | undefined {
    const chosen = this.#preempting.get(key);
    if (!chosen) return undefined;
    const by = this.#resources.get(chosen.by);
    // The run it was to make room for is admitted already, or no longer waits.
    if (
      this.#held.has(chosen.by) ||
      this.#done.has(chosen.by) ||
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
    const job = this.#resources.get(key);
    const queue =
      this.#held.get(key)?.queue ??
      (job?.kind === "TrainingJob" && job.spec.queue ? queueIdOf(job) : undefined);
    this.release(key);
    this.#done.delete(key);
    if (queue !== undefined) this.onPreempted?.(queue);
    this.#changes.next(key);
  }

  /** Chooses admitted runs of lower priority to stop so that `job`, the head of its queue, fits. */
  #preemptFor(job: GateJob, policies: readonly PreemptingQueue[], now: Date): void {
    if (!policies.some((q) => q.id === queueIdOf(job) && q.preemption === "LowerPriority")) return;
    const scope = new Set(policies.map((q) => q.id));
    const admitted: AdmittedRun[] = [];
    for (const other of this.#jobs(scope)) {
      const id = jobKeyOf(other);
      if (!scope.has(queueIdOf(other)) || !this.#holding(other)) continue;
      admitted.push({
        id,
        queue: queueIdOf(other),
        request: this.#held.get(id)?.request ?? requestOf(other.spec.replicas, other.spec.resources),
        priority: other.spec.priority ?? 50,
        // Admitted by this process and not yet written to status: the newest.
        admittedAt: Date.parse(other.status?.queue?.admittedAt ?? "") || now.getTime(),
        preempting: this.#preempting.has(id),
      });
    }
    const choice = preemptionFor(policies, admitted, this.#pendingRun(job, now));
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

function queueIdOf(job: GateJob): string {
  return `${job.metadata.namespace}/${job.spec.queue}`;
}

function jobKeyOf(job: GateJob): ResourceKey {
  return makeKey("TrainingJob", job.metadata.namespace, job.metadata.name);
}

/** When the job was first queued, as its status or its metadata records it. */
function arrivalOf(job: TrainingJob): number | undefined {
  for (const at of [job.status?.queue?.queuedAt, job.metadata.creationTimestamp]) {
    const ms = Date.parse(at ?? "");
    if (!Number.isNaN(ms)) return ms;
  }
  return undefined;
}

/** Not suspended and not finished in its current generation. */
function wantsToRun(job: TrainingJob): boolean {
  if (job.spec.suspend) return false;
  const finished = job.status?.phase === "Succeeded" || job.status?.phase === "Failed";
  return !(finished && job.status?.observedGeneration === job.metadata.generation);
}

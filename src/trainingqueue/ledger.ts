// What the queue gate knows of each queued TrainingJob: which runs hold quota (and what they
// request), which were released, which finished, and when each waiting one was first seen; and what
// admission reads from that, per scope (one queue, or the queues of one cohort): the queues with
// their usage and the waiting runs. With the resource index's change feed the reads of each scope are
// kept (scope-memo.ts) and only the jobs that changed are read again; without it every read goes
// through every job of the scope.
//
// Until a job has been looked at by this process (after a restart), a job whose status says it was
// admitted and has not finished counts as holding: nothing is admitted over quota before usage is
// known again.
import type { Observable } from "rxjs";
import { makeKey, type ResourceKey, type TrainingJob, type TrainingQueue } from "../api/resources.ts";
import type { ResourceIndex } from "../controller/reconcile.ts";
import type { QueuedJob } from "../trainingjob/ports.ts";
import { type Amounts, addAmounts, type PendingRun, type QueueInput, requestOf } from "./admission.ts";
import { queueInputOf } from "./input.ts";
import type { PreemptingQueue } from "./preemption.ts";
import { QueueIndex } from "./queue-index.ts";
import { type Entry, orderedRuns, type Scope, ScopeMemos, usageOf } from "./scope-memo.ts";

/** What the gate reads of a job that asks. */
export type GateJob = QueuedJob;

export interface QueueView {
  readonly usage: Amounts;
  readonly admitted: number;
  readonly pending: number;
}

/** What admission reads of a scope. */
export interface Inputs {
  readonly queues: (QueueInput & PreemptingQueue)[];
  readonly pending: readonly PendingRun[];
  /** `pending` is in admission order, each run once (a kept scope's runs): admit need not sort it. */
  readonly ordered: boolean;
  /** The position each pending job's status holds, as last written. */
  readonly recorded: { get(id: string): number | undefined };
}

export class QueueLedger {
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
  /** Each scope's entries and last decision (with a change feed only). */
  readonly #memos = new ScopeMemos();

  constructor(resources: ResourceIndex, changes?: Observable<ResourceKey>) {
    this.#resources = resources;
    this.#index = new QueueIndex(resources, changes);
    // After the index's own subscription: the index has moved the job when its entry is read. Ends
    // with the feed (the source completes it when it closes).
    changes?.subscribe({
      next: (key) => {
        if (key.startsWith("TrainingQueue/")) this.#memos.clear();
        else this.#touch(key);
      },
    });
  }

  holds(key: ResourceKey): boolean {
    return this.#held.has(key);
  }

  /** The queue the job's run holds quota in, if it does. */
  heldIn(key: ResourceKey): string | undefined {
    return this.#held.get(key)?.queue;
  }

  /** Released as finished, suspended or deleted, and not asking again since. */
  isDone(key: ResourceKey): boolean {
    return this.#done.has(key);
  }

  /** The job's run is live: it holds its request in its queue. */
  hold(job: GateJob): void {
    const key = jobKeyOf(job);
    this.#index.noteJob(job);
    this.#held.set(key, { request: requestOf(job.spec.replicas, job.spec.resources), queue: queueIdOf(job) });
    this.#released.delete(key);
    this.#done.delete(key);
    this.#firstSeen.delete(key);
    this.#touch(key);
  }

  /** The run admitted by a decision holds its request from now on. */
  take(run: PendingRun): void {
    const key = run.id as ResourceKey;
    this.#held.set(key, { request: run.request, queue: run.queue });
    this.#released.delete(key);
    this.#touch(key);
  }

  /** The job holds nothing and waits for nothing until it asks again; whether it held quota before. */
  release(key: ResourceKey): boolean {
    const had = this.#held.delete(key) || !this.#released.has(key);
    this.#released.add(key);
    this.#done.add(key);
    this.#firstSeen.delete(key);
    this.#touch(key);
    return had;
  }

  /** The job is gone: nothing of it is kept (release() remembers a released job until then). */
  forget(key: ResourceKey): void {
    this.#held.delete(key);
    this.#released.delete(key);
    this.#done.delete(key);
    this.#firstSeen.delete(key);
    this.#touch(key);
  }

  /** Entries kept of jobs (held quota, released, finished, first seen): none once every job is gone. */
  get remembered(): number {
    return this.#held.size + this.#released.size + this.#done.size + this.#firstSeen.size;
  }

  /** The job asks for admission: it holds nothing until admitted. */
  ask(job: GateJob, now: Date): void {
    const key = jobKeyOf(job);
    this.#done.delete(key);
    if (!this.#firstSeen.has(key)) this.#firstSeen.set(key, arrivalOf(job as TrainingJob) ?? now.getTime());
    this.#released.add(key);
    this.#index.sync();
    this.#index.noteJob(job);
    this.#touch(key);
  }

  /** A released job waits again (its run was preempted). */
  requeue(key: ResourceKey): void {
    this.#done.delete(key);
    this.#touch(key);
  }

  /** The job's status was written: what admission reads of it (holding, finished) is read again. */
  noteStatus(key: ResourceKey): void {
    this.#index.note(key); // a job left out as finished may want to run again
    this.#touch(key);
  }

  /** The queues admission of a queue's runs depends on: its cohort's, or itself alone. */
  scopeOf(queue: string): ReadonlySet<string> {
    this.#index.sync();
    return this.#index.scopeOf(queue);
  }

  /** The TrainingJobs naming a queue of `scope` (every queue without one). */
  jobs(scope?: ReadonlySet<string>): TrainingJob[] {
    this.#index.sync();
    return this.#index.jobsIn(scope);
  }

  /** Held in this process, or (not yet looked at since a restart) admitted by status and unfinished. */
  holding(job: TrainingJob, key: ResourceKey = jobKeyOf(job)): boolean {
    if (this.#held.has(key)) return true;
    if (this.#released.has(key)) return false;
    return job.status?.queue?.admittedAt !== undefined && wantsToRun(job);
  }

  /** What the job's run requests: as held, or as its spec says. */
  requestOf(job: TrainingJob, key: ResourceKey = jobKeyOf(job)): Amounts {
    return this.#held.get(key)?.request ?? requestOf(job.spec.replicas, job.spec.resources);
  }

  /**
   * The scope's kept reads when there are (with a change feed) and `asker` (if given) is among their
   * waiting runs; undefined otherwise.
   */
  kept(scope: ReadonlySet<string> | undefined, asker?: ResourceKey): Scope | undefined {
    const memo = scope === undefined ? undefined : this.#memo(scope);
    return memo && (asker === undefined || memo.entries.get(asker)?.state === "pending") ? memo : undefined;
  }

  /**
   * The queues of `scope` (every queue without one), their usage and waiting runs: from `memo`, else
   * from every job of the scope (finished ones are then left out of reads until they change).
   */
  inputs(scope: ReadonlySet<string> | undefined, memo: Scope | undefined): Inputs {
    if (!memo) return this.#inputsOf(scope, this.#read(scope));
    const entries = memo.entries;
    return {
      queues: this.#queuesOf(scope, memo.usage),
      pending: orderedRuns(memo),
      ordered: true,
      recorded: { get: (id) => recordedOf(entries.get(id as ResourceKey)) },
    };
  }

  /** One queue's usage, admitted and pending counts, for its status and metrics. */
  view(queue: TrainingQueue): QueueView {
    let usage: Amounts = {};
    let admitted = 0;
    let pending = 0;
    const id = `${queue.metadata.namespace}/${queue.metadata.name}`;
    const memo = this.#memo(this.scopeOf(id));
    const entries = memo
      ? memo.entries.values()
      : this.#index.entriesIn(new Set([id])).map(([key, job]) => this.#entryOf(key, job, Date.now()));
    for (const entry of entries) {
      if (entry?.queue !== id) continue;
      if (entry.state === "pending") pending += 1;
      else {
        usage = addAmounts(usage, entry.request);
        admitted += 1;
      }
    }
    return { usage, admitted, pending };
  }

  pendingRun(job: GateJob, now: Date, key: ResourceKey = jobKeyOf(job)): PendingRun {
    return {
      id: key,
      queue: `${job.metadata.namespace}/${job.spec.queue}`,
      request: requestOf(job.spec.replicas, job.spec.resources),
      priority: job.spec.priority ?? 50,
      arrival: this.#firstSeen.get(key) ?? arrivalOf(job as TrainingJob) ?? now.getTime(),
    };
  }

  /** The scope's entries, read from its jobs once (then kept current); undefined without a change feed. */
  #memo(scope: ReadonlySet<string>): Scope | undefined {
    if (!this.#index.follows) return undefined;
    return this.#memos.get(scope) ?? this.#memos.put(scope, this.#read(scope));
  }

  /** The entries of every job of `scope` (every queue without one); finished ones are left out of reads until they change. */
  #read(scope: ReadonlySet<string> | undefined): Map<ResourceKey, Entry> {
    this.#index.sync();
    const entries = new Map<ResourceKey, Entry>();
    const now = Date.now();
    for (const [key, job] of this.#index.entriesIn(scope)) {
      const entry = this.#entryOf(key, job, now);
      if (entry) entries.set(key, entry);
      else if (!wantsToRun(job)) this.#index.rest(key); // holding nothing: read again once it changes
    }
    return entries;
  }

  /** What admission reads of one job now: it holds quota, waits, or neither (undefined). */
  #entryOf(key: ResourceKey, job: TrainingJob, now: number): Entry | undefined {
    const queue = queueIdOf(job);
    if (this.holding(job, key)) return { state: "holding", queue, request: this.requestOf(job, key) };
    if (!wantsToRun(job) || this.#done.has(key)) return undefined;
    // A waiting job is first seen when the gate first reads it (unless its status or metadata says when).
    if (!this.#firstSeen.has(key)) this.#firstSeen.set(key, arrivalOf(job) ?? now);
    const run = this.pendingRun(job, new Date(now), key);
    return { state: "pending", queue, run, recorded: job.status?.queue?.position };
  }

  /** Something a job's entry is derived from may have changed: its entry is derived again. */
  #touch(key: ResourceKey): void {
    if (!this.#index.follows) return;
    const found = this.#resources.get(key);
    const job = found?.kind === "TrainingJob" && found.spec.queue !== undefined ? found : undefined;
    if (!this.#memos.wants(key, job && queueIdOf(job))) return;
    this.#memos.update(key, job && this.#entryOf(key, job, Date.now()));
  }

  #inputsOf(scope: ReadonlySet<string> | undefined, entries: ReadonlyMap<ResourceKey, Entry>): Inputs {
    const pending: PendingRun[] = [];
    const recorded = new Map<string, number | undefined>();
    for (const [key, entry] of entries) {
      if (entry.state !== "pending") continue;
      pending.push(entry.run);
      recorded.set(key, entry.recorded);
    }
    return { queues: this.#queuesOf(scope, usageOf(entries)), pending, ordered: false, recorded };
  }

  #queuesOf(
    scope: ReadonlySet<string> | undefined,
    usage: ReadonlyMap<string, Amounts>,
  ): (QueueInput & PreemptingQueue)[] {
    // Copies: a kept scope's sums change as runs are taken.
    return this.#index.queues(scope).map((q) => {
      const used = usage.get(`${q.metadata.namespace}/${q.metadata.name}`);
      return queueInputOf(q, used && { ...used });
    });
  }
}

function recordedOf(entry: Entry | undefined): number | undefined {
  return entry?.state === "pending" ? entry.recorded : undefined;
}

export function queueIdOf(job: GateJob): string {
  return `${job.metadata.namespace}/${job.spec.queue}`;
}

export function jobKeyOf(job: GateJob): ResourceKey {
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
export function wantsToRun(job: TrainingJob): boolean {
  if (job.spec.suspend) return false;
  const finished = job.status?.phase === "Succeeded" || job.status?.phase === "Failed";
  return !(finished && job.status?.observedGeneration === job.metadata.generation);
}

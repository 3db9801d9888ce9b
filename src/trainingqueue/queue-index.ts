// Which TrainingJobs name each TrainingQueue (by queue id, `namespace/name`) and which queues form
// each cohort, so that admission looks only at the jobs of one queue's cohort, never at every job.
//
// Kept from the resource index's change feed (every key whose lookup changed), and checked on every
// read: a listed job whose current version names another queue, or is gone, is moved or dropped
// before it is returned; a queue listed in a cohort it left is moved. Without a change feed the
// index cannot learn of new jobs: every read then filters the resource index's full lists.
import type { Observable, Subscription } from "rxjs";
import type { ResourceKey, TrainingJob, TrainingQueue } from "../api/resources.ts";
import type { ResourceIndex } from "../controller/reconcile.ts";

export class QueueIndex {
  readonly #resources: ResourceIndex;
  readonly #subscription: Subscription | undefined;
  /** Queue id → keys of the TrainingJobs whose spec.queue names it. */
  readonly #jobs = new Map<string, Set<ResourceKey>>();
  /** Job key → the queue id it is listed under. */
  readonly #queueOf = new Map<ResourceKey, string>();
  /** Cohort → ids of the TrainingQueues that name it. */
  readonly #cohorts = new Map<string, Set<string>>();
  /** Queue id → its cohort, for every TrainingQueue present. */
  readonly #cohortOf = new Map<string, string | undefined>();
  /**
   * Jobs that neither run nor want to (finished in their generation, or suspended): left out of
   * reads until the change feed or the gate notes them again. Without this a queue's reads would
   * grow with its history (every finished run of the queue, read at every admission).
   */
  readonly #resting = new Set<ResourceKey>();
  #loaded = false;

  constructor(resources: ResourceIndex, changes?: Observable<ResourceKey>) {
    this.#resources = resources;
    this.#subscription = changes?.subscribe({ next: (key) => this.note(key) });
  }

  /** Whether the index follows a change feed (else every read filters the resource index's lists). */
  get follows(): boolean {
    return this.#subscription !== undefined;
  }

  /** Loaded from the resource index's lists once, before the first read (with a change feed). */
  sync(): void {
    if (this.#loaded || !this.#subscription) return;
    this.#jobs.clear();
    this.#queueOf.clear();
    this.#cohorts.clear();
    this.#cohortOf.clear();
    for (const q of this.#resources.list("TrainingQueue")) if (q.kind === "TrainingQueue") this.#putQueue(q);
    for (const j of this.#resources.list("TrainingJob")) if (j.kind === "TrainingJob") this.noteJob(j);
    this.#loaded = true;
  }

  /** A key whose lookup may have changed: read again from the resource index. */
  note(key: ResourceKey): void {
    if (key.startsWith("TrainingJob/")) {
      this.#resting.delete(key);
      const found = this.#resources.get(key);
      if (found?.kind === "TrainingJob") this.noteJob(found);
      else this.#dropJob(key);
    } else if (key.startsWith("TrainingQueue/")) {
      const id = key.slice("TrainingQueue/".length);
      const found = this.#resources.get(key);
      if (found?.kind === "TrainingQueue") this.#putQueue(found);
      else this.#dropQueue(id);
    }
  }

  /** The job as it is now: listed under the queue it names, or under none. */
  noteJob(job: {
    readonly metadata: { readonly namespace: string; readonly name: string };
    readonly spec: { readonly queue?: string | undefined };
  }): void {
    const key: ResourceKey = `TrainingJob/${job.metadata.namespace}/${job.metadata.name}`;
    this.#resting.delete(key);
    if (job.spec.queue === undefined) {
      this.#dropJob(key);
      return;
    }
    const id = `${job.metadata.namespace}/${job.spec.queue}`;
    const before = this.#queueOf.get(key);
    if (before === id) return;
    if (before !== undefined) this.#dropJob(key);
    this.#queueOf.set(key, id);
    const set = this.#jobs.get(id);
    if (set) set.add(key);
    else this.#jobs.set(id, new Set([key]));
  }

  /**
   * Leaves a listed job out of reads until it is noted again (the caller found it neither running
   * nor wanting to: a new generation or a resumed suspend comes with a change of its spec, which the
   * change feed reports). Only with a change feed.
   */
  rest(key: ResourceKey): void {
    if (this.#subscription && this.#queueOf.has(key)) this.#resting.add(key);
  }

  /** The current TrainingJobs naming a queue of `scope` (any queue without one). */
  jobsIn(scope?: ReadonlySet<string>): TrainingJob[] {
    return this.entriesIn(scope).map(([, job]) => job);
  }

  /** The same jobs with their keys. */
  entriesIn(scope?: ReadonlySet<string>): (readonly [ResourceKey, TrainingJob])[] {
    if (!this.#subscription)
      return this.#resources
        .list("TrainingJob")
        .filter(
          (r): r is TrainingJob =>
            r.kind === "TrainingJob" && r.spec.queue !== undefined && (!scope || scope.has(queueIdOf(r))),
        )
        .map((job) => [`TrainingJob/${job.metadata.namespace}/${job.metadata.name}` as ResourceKey, job]);
    const out: (readonly [ResourceKey, TrainingJob])[] = [];
    const moved: ResourceKey[] = [];
    for (const id of scope ?? [...this.#jobs.keys()]) {
      for (const key of this.#jobs.get(id) ?? []) {
        if (this.#resting.has(key)) continue;
        const job = this.#resources.get(key);
        if (job?.kind === "TrainingJob" && job.spec.queue !== undefined && queueIdOf(job) === id)
          out.push([key, job]);
        else moved.push(key);
      }
    }
    for (const key of moved) this.note(key);
    return out;
  }

  /** The current TrainingQueues of `scope` (all without one). */
  queues(scope?: ReadonlySet<string>): TrainingQueue[] {
    if (!this.#subscription || !scope)
      return this.#resources
        .list("TrainingQueue")
        .filter(
          (r): r is TrainingQueue =>
            r.kind === "TrainingQueue" && (!scope || scope.has(`${r.metadata.namespace}/${r.metadata.name}`)),
        );
    return [...scope].flatMap((id) => this.queue(id) ?? []);
  }

  /** The current TrainingQueue with id `id`, if present. */
  queue(id: string): TrainingQueue | undefined {
    const found = this.#resources.get(`TrainingQueue/${id}` as ResourceKey);
    return found?.kind === "TrainingQueue" ? found : undefined;
  }

  /** The queues admission of a queue's runs depends on: its cohort's, or itself alone. */
  scopeOf(id: string): ReadonlySet<string> {
    const cohort = this.queue(id)?.spec.cohort;
    if (cohort === undefined) return new Set([id]);
    if (!this.#subscription)
      return new Set(
        this.#resources
          .list("TrainingQueue")
          .filter((q) => q.kind === "TrainingQueue" && q.spec.cohort === cohort)
          .map((q) => `${q.metadata.namespace}/${q.metadata.name}`),
      );
    const scope = new Set<string>();
    const members = [...(this.#cohorts.get(cohort) ?? []), id];
    for (const member of members) {
      const q = this.queue(member);
      if (q?.spec.cohort === cohort) scope.add(member);
      const known = this.#cohortOf.has(member);
      const stale = q === undefined ? known : !known || this.#cohortOf.get(member) !== q.spec.cohort;
      if (stale) this.note(`TrainingQueue/${member}` as ResourceKey);
    }
    return scope;
  }

  close(): void {
    this.#subscription?.unsubscribe();
  }

  #dropJob(key: ResourceKey): void {
    this.#resting.delete(key);
    const id = this.#queueOf.get(key);
    if (id === undefined) return;
    this.#queueOf.delete(key);
    const set = this.#jobs.get(id);
    set?.delete(key);
    if (set?.size === 0) this.#jobs.delete(id);
  }

  #putQueue(q: TrainingQueue): void {
    const id = `${q.metadata.namespace}/${q.metadata.name}`;
    const cohort = q.spec.cohort;
    if (this.#cohortOf.has(id) && this.#cohortOf.get(id) === cohort) return;
    this.#dropQueue(id);
    this.#cohortOf.set(id, cohort);
    if (cohort === undefined) return;
    const set = this.#cohorts.get(cohort);
    if (set) set.add(id);
    else this.#cohorts.set(cohort, new Set([id]));
  }

  #dropQueue(id: string): void {
    if (!this.#cohortOf.has(id)) return;
    const cohort = this.#cohortOf.get(id);
    this.#cohortOf.delete(id);
    if (cohort === undefined) return;
    const set = this.#cohorts.get(cohort);
    set?.delete(id);
    if (set?.size === 0) this.#cohorts.delete(cohort);
  }
}

function queueIdOf(job: TrainingJob): string {
  return `${job.metadata.namespace}/${job.spec.queue}`;
}

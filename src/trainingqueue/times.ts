// Queue arrival and admission times kept where every replica reads them: with --leader-elect in
// directory mode each replica has its own state directory, so a TrainingJob's status.queue
// (queuedAt, admittedAt) would be lost to a new leader, which would then order its queues by the
// order it happens to look at jobs in. The leader records them in shared operator state, one value
// per queue (`queues/<namespace>/<queue>`: job name → times), as each job's status is written; a new
// leader reads them before it admits anything and writes them into its own statuses, where the
// admission gate reads them as after a restart. A job leaves the record when it finishes, leaves its
// queue or is no longer declared.

import { OperatorError } from "../api/errors.ts";
import { type AnyResource, makeKey, type TrainingJob, type TrainingJobStatus } from "../api/resources.ts";
import type { SharedState } from "../api/shared-state.ts";
import type { ResourceIndex } from "../controller/reconcile.ts";

export interface QueueTime {
  readonly queuedAt: string;
  readonly admittedAt?: string;
}

interface QueueFile {
  readonly jobs?: Record<string, QueueTime>;
}

interface Slot {
  jobs: Map<string, QueueTime>;
  version: number;
  /** Names changed here since the last write that succeeded. */
  changed: Set<string>;
  writing: Promise<void>;
  queued: Promise<void> | undefined;
}

const CONFLICT_RETRIES = 5;

export class QueueTimes {
  readonly #state: SharedState;
  readonly #slots = new Map<string, Slot>();
  /** The queue key each job is recorded under. */
  readonly #recorded = new Map<string, string>();

  constructor(state: SharedState) {
    this.#state = state;
  }

  /**
   * Reads the times of every queue a declared job names and writes them into the statuses of jobs
   * whose own status says otherwise (`write`: the source's status write); returns how many it wrote.
   */
  async restore(
    resources: ResourceIndex,
    write: (job: TrainingJob, status: TrainingJobStatus) => Promise<void>,
  ): Promise<number> {
    const jobs = resources.list("TrainingJob").filter(isQueued);
    const keys = new Set(jobs.map(queueKeyOf));
    await Promise.all([...keys].map((key) => this.#slot(key)));
    let written = 0;
    for (const job of jobs) {
      const key = queueKeyOf(job);
      const times = this.#slots.get(key)?.jobs.get(job.metadata.name);
      if (!times) continue;
      this.#recorded.set(jobId(job), key);
      const own = job.status?.queue;
      if (
        own?.name === job.spec.queue &&
        own.queuedAt === times.queuedAt &&
        own.admittedAt === times.admittedAt
      )
        continue;
      const { position: _stale, ...kept } = own?.name === job.spec.queue ? own : {};
      await write(job, {
        ...job.status,
        queue: { ...kept, name: job.spec.queue, queuedAt: times.queuedAt, ...admitted(times) },
      });
      written++;
    }
    // Forget jobs no longer declared.
    for (const key of keys) {
      const slot = this.#slots.get(key) as Slot;
      const namespace = key.split("/")[1] ?? "";
      for (const name of [...slot.jobs.keys()]) {
        if (!resources.get(makeKey("TrainingJob", namespace, name))) this.#set(key, name, undefined);
      }
      if (slot.changed.size > 0) await this.#save(key);
    }
    return written;
  }

  /** After `resource`'s status was written: records its queue times, or drops them. */
  async written(resource: AnyResource, status: unknown): Promise<void> {
    if (resource.kind !== "TrainingJob") return;
    const id = jobId(resource);
    const queue = (status as TrainingJobStatus | undefined)?.queue;
    const phase = (status as TrainingJobStatus | undefined)?.phase;
    const finished = phase === "Succeeded" || phase === "Failed";
    const key =
      resource.spec.queue !== undefined && queue?.queuedAt && !finished ? queueKeyOf(resource) : undefined;
    const before = this.#recorded.get(id);
    if (before === undefined && key === undefined) return;
    const saves: Promise<void>[] = [];
    if (before !== undefined && before !== key) {
      await this.#slot(before);
      if (this.#set(before, resource.metadata.name, undefined)) saves.push(this.#save(before));
      this.#recorded.delete(id);
    }
    if (key !== undefined && queue?.queuedAt) {
      await this.#slot(key);
      const times: QueueTime = { queuedAt: queue.queuedAt, ...admitted(queue) };
      if (this.#set(key, resource.metadata.name, times)) saves.push(this.#save(key));
      this.#recorded.set(id, key);
    }
    await Promise.all(saves);
  }

  /** The recorded times of a queue's jobs (tests, describe). */
  async times(namespace: string, queue: string): Promise<ReadonlyMap<string, QueueTime>> {
    return (await this.#slot(`queues/${namespace}/${queue}`)).jobs;
  }

  /** Changes a job's times in memory; true when they changed. */
  #set(key: string, name: string, times: QueueTime | undefined): boolean {
    const slot = this.#slots.get(key) as Slot;
    const had = slot.jobs.get(name);
    if (times === undefined ? had === undefined : same(had, times)) return false;
    if (times === undefined) slot.jobs.delete(name);
    else slot.jobs.set(name, times);
    slot.changed.add(name);
    return true;
  }

  async #slot(key: string): Promise<Slot> {
    const known = this.#slots.get(key);
    if (known) return known;
    const found = await this.#state.get<QueueFile>(key);
    // Another caller may have read it meanwhile: the first read wins.
    const raced = this.#slots.get(key);
    if (raced) return raced;
    const slot: Slot = {
      jobs: new Map(Object.entries(found?.value?.jobs ?? {})),
      version: found?.version ?? 0,
      changed: new Set(),
      writing: Promise.resolve(),
      queued: undefined,
    };
    this.#slots.set(key, slot);
    return slot;
  }

  /** One write after the one under way; callers meanwhile share it. */
  #save(key: string): Promise<void> {
    const slot = this.#slots.get(key) as Slot;
    slot.queued ??= slot.writing
      .catch(() => undefined)
      .then(() => {
        slot.queued = undefined;
        slot.writing = this.#write(key, slot);
        return slot.writing;
      });
    return slot.queued;
  }

  async #write(key: string, slot: Slot): Promise<void> {
    const changed = new Set(slot.changed);
    slot.changed.clear();
    try {
      for (let attempt = 0; attempt <= CONFLICT_RETRIES; attempt++) {
        const version = await this.#state.put(key, { jobs: Object.fromEntries(slot.jobs) }, slot.version);
        if (version !== undefined) {
          slot.version = version;
          return;
        }
        // Another writer came first: theirs, with what this one changed on top.
        const theirs = await this.#state.get<QueueFile>(key);
        const jobs = new Map(Object.entries(theirs?.value?.jobs ?? {}));
        for (const name of changed) {
          const ours = slot.jobs.get(name);
          if (ours === undefined) jobs.delete(name);
          else jobs.set(name, ours);
        }
        slot.jobs = jobs;
        slot.version = theirs?.version ?? 0;
      }
      throw new OperatorError(
        "QueueTimesConflict",
        `${this.#state.description} ${key}: changed by another writer ${CONFLICT_RETRIES + 1} times in a row`,
      );
    } catch (error) {
      for (const name of changed) slot.changed.add(name);
      throw error;
    }
  }
}

function isQueued(resource: AnyResource): resource is TrainingJob & { spec: { queue: string } } {
  return resource.kind === "TrainingJob" && resource.spec.queue !== undefined;
}

function queueKeyOf(job: TrainingJob): string {
  return `queues/${job.metadata.namespace}/${job.spec.queue}`;
}

function jobId(job: { metadata: { namespace: string; name: string } }): string {
  return `${job.metadata.namespace}/${job.metadata.name}`;
}

function admitted(times: { admittedAt?: string | undefined }): { admittedAt?: string } {
  return times.admittedAt ? { admittedAt: times.admittedAt } : {};
}

function same(a: QueueTime | undefined, b: QueueTime): boolean {
  return a !== undefined && a.queuedAt === b.queuedAt && a.admittedAt === b.admittedAt;
}

// The Scheduler port on Nomad. The reconciler decides WHAT to do (new run, in-place update, stop,
// purge); this does it faithfully and reports what Nomad says:
// - submit: read, check the owner (another operator's job is never touched: NotOwned), skip when the
//   live job already carries this run and spec (idempotent: no write), else register with
//   check-and-set on the JobModifyIndex just read (a concurrent change is retried from a fresh read);
// - stop: deregister without purge (the job stays, dead and Stop=true); purge: with purge (404 is done);
//   a job of another owner id (or one made by hand) under the name is left alone, and the call is
//   done: it owns nothing here (a deleted resource's finalizer must not stall on another's job);
// - changes: ONE event stream for all namespaces, filtered by this operator's owner id (endings: the
//   keys whose run had an allocation end); after a reconnect, every owned job's key (re-list), as the
//   event buffer is small; the namespace list is watched for namespaces created later (changes.ts);
// - placement failures: the FailedTGAllocs of an owned job's evaluations, kept from the stream's
//   Evaluation events (a job that cannot be placed wakes its resource), or read once per job version
//   for a job still missing allocations that the stream has told nothing about;
// - adoption: a job carrying a previous default owner id of the same source counts as owned
//   (adoption.ts); its Meta keeps that id while the same run is updated in place (a Meta change is
//   destructive in Nomad: allocations replaced) and gets this operator's id with the next run.
import type { Logger } from "pino";
import type { Observable } from "rxjs";
import { OperatorError } from "../../api/errors.ts";
import { nomadJobId, nomadNamespace } from "../../api/names.ts";
import { makeKey, type ResourceKey } from "../../api/resources.ts";
import type { NomadClient } from "../../clients/nomad/client.ts";
import { NomadError, NomadReason } from "../../clients/nomad/errors.ts";
import { DEFAULT_TOPICS, type EventStreamOptions } from "../../clients/nomad/events.ts";
import type { NomadEvaluation, NomadJob } from "../../clients/nomad/types.ts";
import { supportsMaxRunDuration } from "../../clients/nomad/version.ts";
import { Adoption } from "../adoption.ts";
import type { LogOptions, ObservedRun, OwnedRun, RunRequest, Scheduler } from "../port.ts";
import { NomadReadCache } from "./cache.ts";
import { ChangeFeed } from "./changes.ts";
import { FailedEvaluations } from "./failed-evals.ts";
import { CacheLists, listOwnedAt } from "./listing.ts";
import { jobVersionOf, jobWhere, META, specHashOf } from "./meta.ts";
import { type AllocationView, allocIndex, missingReplicas, observeRun } from "./observe.ts";
import { planSummary } from "./placement.ts";
import { renderJob, secretVariablePath, TASK } from "./render.ts";

export type TrainingJobKey = RunRequest["key"];

export class NotOwnedError extends OperatorError {
  constructor(message: string) {
    super("NotOwned", message, { terminal: true });
    this.name = "NotOwnedError";
  }
}

export interface NomadSchedulerOptions {
  readonly client: NomadClient;
  /** This operator's owner id: changes() reports only jobs carrying it. */
  readonly ownerId: string;
  /** Docker network for training containers (a stack's mlops-network). */
  readonly network?: string;
  /** `namespace/name` of the MlopsStack whose Nomad this is (named in placement messages). */
  readonly stack?: string;
  readonly events?: EventStreamOptions;
  readonly log?: Logger;
  /** Close the client with the scheduler (when the scheduler built it). */
  readonly ownsClient?: boolean;
  /** Least time between two lists of Nomad's namespaces (default 1 s). */
  readonly namespaceListMs?: number;
  /** Previous default owner ids whose jobs are adopted (none: only `ownerId` is owned). */
  readonly adoption?: Adoption;
  /**
   * False: observe from the first list alone, with no event stream (`run --once`; docs/nomad.md,
   * "The read cache"). Default true.
   */
  readonly followEvents?: boolean;
}

const CAS_ATTEMPTS = 3;
/** The event stream's topics: jobs, their allocations, and evaluations (placement failures). */
const TOPICS = [...DEFAULT_TOPICS, "Evaluation:*"] as const;
/** How long observe's "no such job" stands in for submit's own read (check-and-set guards it). */
const ABSENT_FOR_MS = 5_000;

export class NomadScheduler implements Scheduler {
  readonly name = "nomad" as const;
  readonly target: string;
  readonly #client: NomadClient;
  readonly #options: NomadSchedulerOptions;
  /** Owned jobs known here (namespace/jobId → key, for allocation events) and the event stream. */
  readonly #feed: ChangeFeed;
  /** namespace/jobId → when observe last found no such job (small: keys and times, never jobs). */
  readonly #absent = new Map<string, number>();
  /** Why jobs waiting for placement wait (from Evaluation events or one read per job version). */
  readonly #failedEvals = new FailedEvaluations();
  /** Owned jobs and allocations from the feed's list and stream: observe's reads (cache.ts). */
  readonly #cache = new NomadReadCache();
  /** The feed's lists, which seed the cache (observes wait while one is under way). */
  readonly #lists: CacheLists;
  readonly #adoption: Adoption;

  constructor(options: NomadSchedulerOptions) {
    this.#client = options.client;
    this.#options = options;
    this.target = options.client.address;
    const adoption = options.adoption ?? new Adoption({ ownerId: options.ownerId });
    this.#adoption = adoption;
    const owns = (id: string | undefined) => id === options.ownerId || adoption.adoptable(id);
    const lists = new CacheLists(options.client, options.ownerId, owns, this.#cache, options.log);
    this.#lists = lists;
    this.#feed = new ChangeFeed({
      client: options.client,
      ownerId: options.ownerId,
      owns,
      // Every job and then every allocation: jobs older than the list are observed from the cache too.
      list: () => lists.list(),
      ...(options.events ? { events: options.events } : {}),
      ...(options.log ? { log: options.log } : {}),
      ...(options.namespaceListMs !== undefined ? { namespaceListMs: options.namespaceListMs } : {}),
      topics: TOPICS,
      ...(options.followEvents === false ? { follow: false } : {}),
      // Only a finished evaluation that failed to place something wakes its resource.
      onEvaluation: (where, evaluation) => this.#failedEvals.remember(where, evaluation),
      onEvents: (events) =>
        this.#cache.apply(
          events,
          (job) => isOwnedJob(job, owns),
          (w) => this.#feed.owned.has(w),
        ),
      onGap: () => this.#cache.reset(),
      onListed: (index) => lists.listed(index),
      onStart: () => lists.begin(),
    });
  }

  render(run: RunRequest): NomadJob {
    return renderJob(run, this.#options.network ? { network: this.#options.network } : {});
  }

  async observe(key: TrainingJobKey, recorded?: string): Promise<ObservedRun | undefined> {
    const { id, namespace } = where(key);
    const k = jobWhere(namespace, id);
    const listing = this.#lists.underWay;
    if (listing) await listing;
    const cached = this.#cache.get(k, this.#feed.owned.has(k), recorded);
    if (cached.state === "absent") {
      this.#absent.set(k, performance.now());
      return undefined;
    }
    let job: NomadJob | undefined;
    let allocations: AllocationView[];
    // A listed job has no tasks to say why a replica is not placed: then the job is read.
    if (
      cached.state === "known" &&
      (!cached.listed || cached.job.Stop || !missingReplicas(cached.job, cached.allocations))
    ) {
      ({ job, allocations } = cached);
    } else {
      job = await this.#client.readJob(id, namespace);
      if (!job) {
        this.#absent.set(k, performance.now());
        return undefined;
      }
      allocations = await this.#client.jobAllocations(id, namespace);
      if (this.#feed.owned.has(k)) this.#cache.seed(k, job, allocations);
    }
    this.#absent.delete(k);
    const missing = missingReplicas(job, allocations);
    if (!missing) this.#failedEvals.forget(jobWhere(namespace, id));
    const evaluations = missing ? await this.#evaluationsOf(job) : [];
    const run = observeRun({
      job,
      allocations,
      evaluations,
      ...(this.#options.stack ? { target: { stack: this.#options.stack } } : {}),
    });
    const version = cached.state === "known" && cached.listed ? recorded : jobVersionOf(job);
    if (!this.#adoption.adoptable(run.ownerId)) return version ? { ...run, version } : run;
    this.#adoption.adopted(keyOf(key), `Nomad job ${namespace}/${id} at ${this.target}`, run.ownerId);
    return { ...run, ownerId: this.#options.ownerId, ...(version ? { version } : {}) };
  }

  /** Why a job misses allocations: what the stream or an earlier read said for this version, else ONE read. */
  async #evaluationsOf(job: NomadJob): Promise<readonly NomadEvaluation[]> {
    const k = jobWhere(job.Namespace, job.ID);
    const version = job.JobModifyIndex ?? 0;
    const known = this.#failedEvals.known(k, version);
    if (known) return known.evaluation ? [known.evaluation] : [];
    const evaluations = await this.#client.jobEvaluations(job.ID, job.Namespace);
    const latest = evaluations
      .filter((e) => e.Status !== "blocked" && (e.JobModifyIndex ?? version) >= version)
      .sort((a, b) => b.CreateIndex - a.CreateIndex)[0];
    if (latest) this.#failedEvals.remember(k, latest, true);
    return evaluations;
  }

  async submit(run: RunRequest): Promise<string | undefined> {
    const { id, namespace } = where(run.key);
    // A job observe just found absent is not read again: registering it with check-and-set index 0
    // fails if it appeared since, and the retry reads it.
    const seenAbsent = this.#absent.get(jobWhere(namespace, id));
    this.#absent.delete(jobWhere(namespace, id));
    const fresh = seenAbsent !== undefined && performance.now() - seenAbsent < ABSENT_FOR_MS;
    for (let attempt = 1; ; attempt++) {
      const live = attempt === 1 && fresh ? undefined : await this.#client.readJob(id, namespace);
      if (live) this.#checkOwner(live, run.ownerId, "submit");
      const meta = live?.Meta ?? {};
      const sameRun = live !== undefined && meta[META.runId] === run.runId;
      if (
        sameRun &&
        !live.Stop &&
        specHashOf(live) === run.specHash &&
        meta[META.runSpecHash] === run.runSpecHash &&
        meta[META.generation] === String(run.generation) &&
        (meta[META.attempt] ?? "1") === String(run.attempt ?? 1)
      ) {
        return jobVersionOf(live); // converged: registering it again would be a no-op in Nomad anyway
      }
      const job = await this.#renderAgainst(run, live);
      await this.#writeSecrets(run, id, namespace);
      const where = this.#feed.registering(namespace, id);
      try {
        const answer = await this.#client.register(job, { enforceIndex: live?.JobModifyIndex ?? 0 });
        this.#feed.registered(where, namespace, keyOf(run.key), answer.JobModifyIndex);
        this.#options.log?.debug({ job: id, namespace, runId: run.runId }, "registered Nomad job");
        // A new job is created at the index of its register (nomad/state/state_store.go upsertJobImpl).
        const createIndex = live?.CreateIndex ?? answer.JobModifyIndex;
        return answer.JobModifyIndex > 0
          ? jobVersionOf({ ...job, CreateIndex: createIndex, JobModifyIndex: answer.JobModifyIndex })
          : undefined;
      } catch (error) {
        this.#feed.registerFailed(where);
        // Registered as soon as its namespace appears (the feed watches the namespace list).
        if (error instanceof NomadError && error.reason === NomadReason.NamespaceNotFound)
          this.#feed.waitForNamespace(namespace, keyOf(run.key));
        if (
          !(error instanceof NomadError) ||
          error.reason !== NomadReason.Conflict ||
          attempt >= CAS_ATTEMPTS
        ) {
          throw error;
        }
      }
    }
  }

  /** The run's referenced values, in the Variable its template reads (written before the job). */
  async #writeSecrets(run: RunRequest, id: string, namespace: string): Promise<void> {
    if (!run.secrets || Object.keys(run.secrets).length === 0) return;
    const path = secretVariablePath(id);
    await this.#client.putVariable(path, namespace, { ...run.secrets });
    this.#options.log?.debug({ job: id, namespace, variable: path }, "wrote the run's Nomad Variable");
  }

  async stop(key: TrainingJobKey, reason: string): Promise<string | undefined> {
    const { id, namespace } = where(key);
    const live = await this.#client.readJob(id, namespace);
    if (!live || live.Stop || !this.#owns(live, "stop")) return undefined;
    const answer = await this.#client.deregister(id, namespace, { purge: false });
    this.#options.log?.info({ job: id, namespace, reason }, "stopped Nomad job");
    // A stop is a new version of the job: JobModifyIndex is the deregister's index (nomad/fsm.go).
    return answer.JobModifyIndex > 0
      ? jobVersionOf({ ...live, JobModifyIndex: answer.JobModifyIndex })
      : undefined;
  }

  async purge(key: TrainingJobKey): Promise<void> {
    const { id, namespace } = where(key);
    const live = await this.#client.readJob(id, namespace);
    if (!live || !this.#owns(live, "purge")) return;
    await this.#client.deregister(id, namespace, { purge: true });
    // The Variable goes with the job that reads it.
    if (readsSecrets(live)) await this.#client.deleteVariable(secretVariablePath(id), namespace);
    this.#feed.forget(namespace, id);
    this.#cache.forget(jobWhere(namespace, id));
    this.#failedEvals.forget(jobWhere(namespace, id));
  }

  async listOwned(ownerId: string): Promise<OwnedRun[]> {
    const listed = await listOwnedAt(this.#client, ownerId, (id) => this.#adoption.adoptable(id));
    return listed.owned.map(({ key, runId }) => ({ key, runId }));
  }

  async *logs(key: TrainingJobKey, options: LogOptions): AsyncIterable<string> {
    const { id, namespace } = where(key);
    const allocations = await this.#client.jobAllocations(id, namespace);
    const wanted = options.replica ?? 0;
    const alloc = allocations
      .filter((a) => allocIndex(a.Name) === wanted)
      .sort((a, b) => b.CreateIndex - a.CreateIndex)[0] as AllocationView | undefined;
    if (!alloc) {
      throw new OperatorError(
        "NotFound",
        `Nomad job ${namespace}/${id} has no allocation for replica ${wanted}`,
      );
    }
    yield* this.#client.logs(alloc.ID, {
      task: TASK,
      follow: options.follow,
      namespace,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  changes(): Observable<ResourceKey> {
    return this.#feed.observable();
  }

  endings(): Observable<ResourceKey> {
    return this.#feed.endings();
  }

  /**
   * The job as submit would register it against the live one: the same run keeps the live run's
   * `mlops_run_version` (task meta: Nomad's tasksUpdated reads any difference as destructive), but
   * for a stopped job (suspended, or stopped outside the operator): it is placed anew, and the
   * allocations its stop ended are not restarts of the run resumed (observe counts from the run
   * version). `max_run_duration` is rendered where the server supports it.
   */
  async #renderAgainst(run: RunRequest, live: NomadJob | undefined): Promise<NomadJob> {
    const meta = live?.Meta ?? {};
    const sameRun =
      live !== undefined &&
      meta[META.runId] === run.runId &&
      (meta[META.attempt] ?? "1") === String(run.attempt ?? 1);
    const version = await this.#client.serverVersion().catch(() => undefined);
    const adopted = meta[META.ownerId];
    // An adopted job's run keeps the Meta it has: only a new run carries this operator's id.
    const owner = sameRun && this.#adoption.adoptable(adopted) ? { ownerId: adopted } : {};
    return renderJob(
      { ...run, ...owner },
      {
        ...(this.#options.network ? { network: this.#options.network } : {}),
        maxRunDuration: supportsMaxRunDuration(version),
        runVersion:
          sameRun && live?.Stop !== true
            ? Number(meta[META.runVersion] ?? 0)
            : live
              ? (live.Version ?? 0) + 1
              : 0,
      },
    );
  }

  async placement(run: RunRequest): Promise<string | undefined> {
    const { id, namespace } = where(run.key);
    const live = await this.#client.readJob(id, namespace);
    const job = await this.#renderAgainst(run, live);
    return planSummary(job, await this.#client.plan(job), this.#options.stack);
  }

  async close(): Promise<void> {
    if (this.#options.ownsClient) await this.#client.close();
  }

  /** True when the job carries this scheduler's owner id; else logs that it is left alone. */
  #owns(job: NomadJob, action: string): boolean {
    const found = job.Meta?.[META.ownerId];
    if (found === this.#options.ownerId || this.#adoption.adoptable(found)) return true;
    this.#options.log?.info(
      { job: job.ID, namespace: job.Namespace, owner: found ?? null },
      `not going to ${action} a Nomad job this operator does not own`,
    );
    return false;
  }

  #checkOwner(job: NomadJob, ownerId: string | undefined, action: string): void {
    const found = job.Meta?.[META.ownerId];
    const expected = ownerId ?? this.#options.ownerId;
    if (found === expected || (expected === this.#options.ownerId && this.#adoption.adoptable(found))) return;
    throw new NotOwnedError(
      found
        ? `Nomad job ${job.Namespace}/${job.ID} belongs to another operator (owner id ${found}); not going to ${action} it`
        : `Nomad job ${job.Namespace}/${job.ID} exists and is not managed by mlops-operator; not going to ${action} it`,
    );
  }
}

function where(key: TrainingJobKey): { id: string; namespace: string } {
  return { id: nomadJobId(key.name), namespace: nomadNamespace(key.namespace) };
}

const keyOf = (key: TrainingJobKey): ResourceKey => makeKey("TrainingJob", key.namespace, key.name);

function isOwnedJob(job: NomadJob, owns: (ownerId: string | undefined) => boolean): boolean {
  return owns(job.Meta?.[META.ownerId]) && (job.Meta?.[META.key]?.startsWith("TrainingJob/") ?? false);
}

function readsSecrets(job: NomadJob): boolean {
  return job.TaskGroups.some((g) => g.Tasks.some((t) => (t.Templates ?? []).length > 0));
}

// The lists the Nomad scheduler's read cache starts from (an informer's list): every job, then every
// allocation (`GET /v1/allocations?namespace=*`, by ID prefix, paged), so that a job that existed
// before the operator started is observed without a read of its own (cache.ts). Observes that come
// while a list is under way wait for it rather than read each job the list is about to bring.
import type { Logger } from "pino";
import { messageOf } from "../../api/errors.ts";
import type { ResourceKey } from "../../api/resources.ts";
import type { NomadClient } from "../../clients/nomad/client.ts";
import { NomadError } from "../../clients/nomad/errors.ts";
import type { NomadJobListStub } from "../../clients/nomad/types.ts";
import type { OwnedRun } from "../port.ts";
import type { NomadReadCache } from "./cache.ts";
import type { Listed } from "./changes.ts";
import { compact } from "./compact.ts";
import { jobWhere, META, metaKey, ownerFilter } from "./meta.ts";
import type { AllocationView } from "./observe.ts";

/** Allocations per page of a list: bounds what one response holds (about 1 KB each). */
export const ALLOCATIONS_PER_PAGE = 1_000;

/** Jobs per page of a list (about 1 KB each, with Meta). */
export const JOBS_PER_PAGE = 1_000;

export interface OwnedListing {
  readonly owned: (OwnedRun & { where: string })[];
  /** namespace/jobId of the jobs listed that are not owned here. */
  readonly others: string[];
  /** The owned TrainingJob jobs' stubs by namespace/jobId. */
  readonly stubs: Map<string, NomadJobListStub>;
  readonly index: number;
}

/**
 * Every job (that `filter` keeps), one namespace after another in pages of JOBS_PER_PAGE: one
 * response of every job held the whole list's text and bytes at once (~1 KB a job; at 50,000 jobs a
 * restart's peak RSS 589–622 MB, paged 558–568 MB). Not `namespace=*` in pages: Nomad pages that
 * wrongly where one namespace begins another (client.ts, listJobsAt). The index is the first list's,
 * the lowest (the jobs table's index only grows): what changed after any of the lists is in the
 * event stream from it. A server that lists no namespace (before 1.0, or a token that may list
 * none) is asked for every job at once, as before.
 */
export async function listJobs(
  client: NomadClient,
  filter?: string,
  perPage = JOBS_PER_PAGE,
): Promise<{ jobs: NomadJobListStub[]; index: number }> {
  const everyJob = () => client.listJobsAt(filter ? { filter } : {});
  let names: string[];
  try {
    const { body } = await client.query<{ Name: string }[] | null>("/v1/namespaces", "/v1/namespaces", {});
    names = (body ?? []).map((n) => n.Name);
  } catch (error) {
    if (error instanceof NomadError && error.status !== undefined && error.status < 500) return everyJob();
    throw error;
  }
  if (names.length === 0) return everyJob();
  const jobs: NomadJobListStub[] = [];
  let index: number | undefined;
  for (const namespace of names) {
    const listed = await client.listJobsAt({ namespace, perPage, ...(filter ? { filter } : {}) });
    index ??= listed.index;
    for (const job of listed.jobs) jobs.push(job);
  }
  return { jobs, index: index ?? 0 };
}

/**
 * The jobs carrying `ownerId` (all: every job, the owned ones being those of `ownerId` or adoptable;
 * Nomad < 1.3 has no filter expressions: then everything is listed and filtered here).
 */
export async function listOwnedAt(
  client: NomadClient,
  ownerId: string,
  adoptable: (ownerId: string | undefined) => boolean,
  all = false,
): Promise<OwnedListing> {
  let listed: { jobs: NomadJobListStub[]; index: number };
  try {
    listed = await listJobs(client, all ? undefined : ownerFilter(ownerId));
  } catch (error) {
    if (all || !(error instanceof NomadError) || error.status !== 400) throw error;
    listed = await listJobs(client);
  }
  const owned: (OwnedRun & { where: string })[] = [];
  const others: string[] = [];
  const stubs = new Map<string, NomadJobListStub>();
  for (const stub of listed.jobs) {
    const meta = stub.Meta ?? {};
    const key = metaKey(meta);
    const where = jobWhere(stub.Namespace, stub.ID);
    // The change feed's list (all) knows adopted jobs too; orphan clean-up only this owner id's.
    const mine = meta[META.ownerId] === ownerId || (all && adoptable(meta[META.ownerId]));
    if (!mine || !key?.startsWith("TrainingJob/")) {
      others.push(where);
      continue;
    }
    owned.push({ key: key as ResourceKey, runId: meta[META.runId], where });
    stubs.set(where, stub);
  }
  return { owned, others, stubs, index: listed.index };
}

/**
 * Allocation IDs are UUIDs: they are listed by their first hex digit, each list in ID order, whose
 * page tokens (IDs) every Nomad compares right. Before 1.10.2 Nomad compared a token of the
 * create-index order as a string (hashicorp/nomad#25435): past an index with more digits a page
 * started over or ended early.
 */
const ID_PREFIXES = [..."0123456789abcdef"];

/**
 * The allocations of the jobs in `owned` (namespace/jobId), from lists of every allocation, in the
 * cache's compact form; none owned: no request. A sixteenth of the cluster's allocations is held
 * whole at a time, the rest only as the cache keeps them.
 */
export async function listAllocations(
  client: NomadClient,
  owned: ReadonlyMap<string, unknown>,
): Promise<AllocationView[]> {
  const kept: AllocationView[] = [];
  if (owned.size === 0) return kept;
  for (const prefix of ID_PREFIXES) {
    const { allocations } = await client.listAllocationsAt({ prefix, perPage: ALLOCATIONS_PER_PAGE });
    for (const alloc of allocations)
      if (owned.has(jobWhere(alloc.Namespace, alloc.JobID))) kept.push(compact(alloc));
  }
  return kept;
}

/**
 * The change feed's lists (at start, and after a gap in the stream): every job, then every
 * allocation, which seed the read cache; observes wait while one is under way.
 */
export class CacheLists {
  readonly #client: NomadClient;
  readonly #ownerId: string;
  readonly #owns: (ownerId: string | undefined) => boolean;
  readonly #cache: NomadReadCache;
  readonly #log: Logger | undefined;
  #done: Promise<void> | undefined;
  #finish: (() => void) | undefined;
  /** What the list under way brought, for the cache once the feed has taken the list. */
  #listed: { stubs: Map<string, NomadJobListStub>; allocations: AllocationView[] } | undefined;

  constructor(
    client: NomadClient,
    ownerId: string,
    owns: (ownerId: string | undefined) => boolean,
    cache: NomadReadCache,
    log?: Logger,
  ) {
    this.#client = client;
    this.#log = log;
    this.#ownerId = ownerId;
    this.#owns = owns;
    this.#cache = cache;
  }

  /** Resolves when the lists under way have seeded the cache or failed; undefined when none is. */
  get underWay(): Promise<void> | undefined {
    return this.#done;
  }

  /** A list is coming (the feed starts): observes wait from now on. */
  begin(): void {
    this.#done ??= new Promise((resolve) => {
      this.#finish = resolve;
    });
  }

  /** The feed's list: every job (the read cache answers "absent" only for an id no one holds). */
  async list(): Promise<Listed> {
    this.begin();
    try {
      const { owned, others, stubs, index } = await listOwnedAt(
        this.#client,
        this.#ownerId,
        this.#owns,
        true,
      );
      this.#cache.setOthers(others);
      // Without the allocations the jobs are not seeded (each is read once, as before the lists).
      const allocations = await listAllocations(this.#client, stubs).catch((error: unknown) => {
        this.#log?.warn({ err: messageOf(error) }, "listing Nomad allocations failed; jobs are read instead");
        return undefined;
      });
      this.#listed = allocations ? { stubs, allocations } : undefined;
      return { owned: new Map(owned.map((run) => [run.where, run.key])), index };
    } catch (error) {
      this.#end();
      throw error;
    }
  }

  /** The feed took the list at `index` and follows the stream from there. */
  listed(index: number): void {
    this.#cache.listed(index);
    if (this.#listed) this.#cache.seedListed(this.#listed.stubs, this.#listed.allocations);
    this.#listed = undefined;
    this.#end();
  }

  #end(): void {
    this.#finish?.();
    this.#done = undefined;
    this.#finish = undefined;
  }
}

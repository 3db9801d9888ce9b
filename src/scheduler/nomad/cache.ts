// The read side of the Nomad scheduler (an informer): owned jobs and their allocations as the list
// and the event stream the change feed already holds report them, so observe costs no request for
// a job the cache knows. Writes never read from here (submit, stop and purge read the server and
// register with check-and-set). The rules (docs/nomad.md, "The read cache"):
// - "absent" is answered only after a list of every job (synced) for a job neither listed (owned or
//   not), nor registered here, nor seen in an event; it may be wrong for a job created since by
//   someone else until its event arrives: submit registers with check-and-set index 0, which fails
//   (no change), and the retry reads.
// - A job is served from here only when every allocation of it is known: its entry was created by
//   an event after the stream became continuous (the job is younger than the list the stream
//   follows), seeded by a read (GET job and allocations), or listed (its stub in the job list, its
//   allocations in the list of every allocation taken after it), merged with the events since.
// - A listed job is its stub: Meta, indexes and status, not the constraints and groups observe
//   compares. It is served only to a caller whose recorded version (meta.ts, JobVersion) has the
//   stub's CreateIndex and JobModifyIndex, which fixes the rest; a Job event replaces the stub.
// - Objects merge by ModifyIndex (an older copy never replaces a newer one); allocations by ID.
// - A gap (reconnect, stall, index reset) drops every entry: reads seed them again.
// - Under `run --once` no stream follows the list (changes.ts, `follow: false`): the cache is the
//   list as it was when the pass began, with the reads seeded since. A job changed by someone else
//   during the pass is seen by the next pass; every write still reads the server or registers with
//   check-and-set, so nothing is written from a stale entry.
// - Allocation events carry no JobVersion (Nomad strips the job from them, nomad/state/events.go):
//   an allocation first seen in an event takes the version of the job whose JobModifyIndex is the
//   latest at or before its CreateIndex; without such a version the job is read instead.
import { listOf, type OneOrMany, oneOrMany } from "../../api/one-or-many.ts";
import type { NomadAllocation, NomadEvent, NomadJob, NomadJobListStub } from "../../clients/nomad/types.ts";
import { type CompactJob, compact, compactJob, NONE, stubJob } from "./compact.ts";
import { jobWhere, parseJobVersion, withSharedKey } from "./meta.ts";
import type { AllocationView } from "./observe.ts";
import { GROUP } from "./render.ts";

interface Entry {
  job: NomadJob | undefined;
  /**
   * JobModifyIndex, Version, JobModifyIndex, Version, … of every version seen here, oldest first;
   * NONE while the only one seen is `job`'s (most jobs: an array of two was ~64 bytes a job).
   */
  versions: number[];
  /**
   * By ID; a job has a few (one per replica, and its replacements): searched, not a Map (184 B). The
   * one allocation of most jobs is held as itself, not in a one-element array (~56 B a job).
   */
  allocs: OneOrMany<AllocationView>;
  /** True when `allocs` holds every allocation of the job (see the rules above). */
  complete: boolean;
  /** True while `job` is a listed stub (no constraints, no groups). */
  stub: boolean;
}

export type Cached =
  | { readonly state: "absent" }
  | {
      readonly state: "known";
      readonly job: NomadJob;
      readonly allocations: AllocationView[];
      /** The job is its listed stub completed from the recorded version: no tasks. */
      readonly listed?: true;
    }
  | { readonly state: "unknown" };

export class NomadReadCache {
  readonly #entries = new Map<string, Entry>();
  /** namespace/jobId → index of the event that deleted (purged) it: an older read must not revive it. */
  readonly #deleted = new Map<string, number>();
  /** Jobs created after this index have all their events in the stream; Infinity before a list. */
  #since = Number.POSITIVE_INFINITY;
  #synced = false;
  /** namespace/jobId of every job not owned here (another owner's, or made by hand): never "absent". */
  #others = new Set<string>();

  get synced(): boolean {
    return this.#synced;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The jobs a list found that are not owned here (called before `listed`). */
  setOthers(others: Iterable<string>): void {
    this.#others = new Set(others);
  }

  /** A list of every job succeeded at `index`, the stream following from there. */
  listed(index: number): void {
    this.#synced = true;
    this.#since = index;
  }

  /** The stream had a gap: nothing here can be trusted until a read or the next list. */
  reset(): void {
    this.#entries.clear();
    this.#deleted.clear();
    this.#synced = false;
    this.#since = Number.POSITIVE_INFINITY;
  }

  /**
   * What the cache knows of `where`; `owned` says whether the change feed knows the job as owned,
   * `recorded` is the version the run's status recorded (a listed stub is served only at it).
   */
  get(where: string, owned: boolean, recorded?: string): Cached {
    const entry = this.#entries.get(where);
    if (!entry)
      return this.#synced && !owned && !this.#others.has(where) ? { state: "absent" } : { state: "unknown" };
    if (!entry.job || !entry.complete) return { state: "unknown" };
    const allocations: AllocationView[] = [];
    for (const alloc of listOf(entry.allocs)) {
      if (alloc.JobVersion === undefined) return { state: "unknown" };
      allocations.push(alloc);
    }
    if (!entry.stub) return { state: "known", job: entry.job, allocations };
    const version = parseJobVersion(recorded);
    const stub = entry.job;
    if (
      !version ||
      version.createIndex !== stub.CreateIndex ||
      version.jobModifyIndex !== stub.JobModifyIndex
    )
      return { state: "unknown" };
    // The recorded spec hash as a compact job holds it (compact.ts: SpecHash), not a constraint.
    const job: CompactJob = {
      ...stub,
      Constraints: null,
      SpecHash: version.specHash,
      TaskGroups: [{ Name: GROUP, Count: version.count, Tasks: [] }],
    };
    return { state: "known", job, allocations, listed: true };
  }

  /**
   * A list of every job (its owned stubs, by namespace/jobId) and, taken after it, of every
   * allocation (those of owned jobs): each listed job not known otherwise is kept as its stub, and
   * every listed job's entry is complete. Called with `listed`, after a reset if there was one.
   */
  seedListed(stubs: ReadonlyMap<string, NomadJobListStub>, allocations: readonly AllocationView[]): void {
    if (!this.#synced) return;
    for (const [where, entry] of this.#entries)
      if (entry.stub && !stubs.has(where)) this.#entries.delete(where);
    const live = new Map<string, NomadJobListStub>();
    for (const [where, stub] of stubs) {
      const deleted = this.#deleted.get(where);
      if (deleted === undefined || deleted < stub.ModifyIndex) live.set(where, stub);
    }
    for (const alloc of allocations) {
      const where = jobWhere(alloc.Namespace, alloc.JobID);
      if (live.has(where)) this.#mergeAlloc(this.#entry(where), alloc);
    }
    for (const [where, stub] of live) {
      const entry = this.#entry(where);
      // A whole job (read, or from an event) is kept; a stub gives way to a newer one.
      if (!entry.job || (entry.stub && (entry.job.ModifyIndex ?? 0) < stub.ModifyIndex)) {
        entry.job = withSharedKey(stubJob(stub));
        entry.stub = true;
      }
      entry.complete = true;
    }
  }

  /** Merges a read of the job and its allocations (while synced): the entry is complete from now on. */
  seed(where: string, job: NomadJob, allocations: readonly AllocationView[]): void {
    if (!this.#synced) return; // no stream to keep it current
    const deleted = this.#deleted.get(where);
    if (deleted !== undefined && deleted >= (job.ModifyIndex ?? 0)) return;
    const entry = this.#entry(where);
    this.#mergeJob(entry, job);
    for (const alloc of allocations) this.#mergeAlloc(entry, alloc);
    entry.complete = true;
  }

  forget(where: string): void {
    this.#entries.delete(where);
  }

  /**
   * Applies the events of owned jobs (a Job event: `ownsJob(job)`, by its meta; an Allocation event:
   * `isOwned(where)`); of other jobs only their ids are kept.
   */
  apply(
    events: readonly NomadEvent[],
    ownsJob: (job: NomadJob) => boolean,
    isOwned: (where: string) => boolean,
  ): void {
    for (const event of events) {
      if (event.Topic === "Job") {
        const job = event.Payload.Job as NomadJob | undefined;
        if (!job) continue;
        const where = jobWhere(job.Namespace, job.ID);
        const purged = event.Type === "JobDeregistered" && job.Stop !== true;
        if (!ownsJob(job)) {
          if (purged) this.#others.delete(where);
          else this.#others.add(where);
          continue;
        }
        if (purged) {
          this.#entries.delete(where);
          this.#deleted.set(where, event.Index);
          continue;
        }
        this.#deleted.delete(where);
        const fresh = !this.#entries.has(where);
        const entry = this.#entry(where);
        if (fresh && (job.CreateIndex ?? 0) > this.#since) entry.complete = true;
        this.#mergeJob(entry, job);
      } else if (event.Topic === "Allocation") {
        const alloc = event.Payload.Allocation as NomadAllocation | undefined;
        if (!alloc) continue;
        const where = jobWhere(alloc.Namespace, alloc.JobID);
        if (!isOwned(where)) continue;
        this.#mergeAlloc(this.#entry(where), alloc);
      }
    }
  }

  #entry(where: string): Entry {
    let entry = this.#entries.get(where);
    if (!entry) {
      // Every member in the literal: one added later goes to a property array of its own (40 B).
      entry = { job: undefined, versions: NONE, allocs: NONE, complete: false, stub: false };
      this.#entries.set(where, entry);
    }
    return entry;
  }

  #mergeJob(entry: Entry, full: NomadJob): void {
    const known = entry.stub ? undefined : entry.job; // a stub gives way to any whole job
    if (known && (known.ModifyIndex ?? 0) > (full.ModifyIndex ?? 0)) return;
    entry.stub = false;
    if (known && known.JobModifyIndex === full.JobModifyIndex && known.Version === full.Version) {
      // The same version of the spec (a change of its status, as an allocation's update makes):
      // what else the compact job holds is the same, so it is not built and interned again.
      entry.job = { ...known, Status: full.Status, ModifyIndex: full.ModifyIndex } as NomadJob;
      return;
    }
    const job = withSharedKey(compactJob(full));
    const seen = entry.versions === NONE && known ? versionOf(known) : entry.versions;
    entry.job = job;
    if (seen !== NONE) entry.versions = withJobVersion(seen, job.JobModifyIndex ?? 0, job.Version ?? 0);
    // Allocations seen before their job's version was known.
    const allocs = entry.allocs;
    if (!Array.isArray(allocs)) {
      if (allocs.JobVersion === undefined) entry.allocs = withVersion(entry, allocs);
      return;
    }
    for (let i = 0; i < allocs.length; i++) {
      const alloc = allocs[i] as AllocationView;
      if (alloc.JobVersion === undefined) allocs[i] = withVersion(entry, alloc);
    }
  }

  #mergeAlloc(entry: Entry, full: AllocationView): void {
    const list = listOf(entry.allocs);
    const at = list.findIndex((a) => a.ID === full.ID);
    const known = list[at];
    if (known && known.ModifyIndex > full.ModifyIndex) return;
    const alloc = compact(full);
    if (entry.job?.ID === alloc.JobID) alloc.JobID = entry.job.ID; // one string for the job's id
    const version = alloc.JobVersion ?? known?.JobVersion;
    const merged = version === undefined ? withVersion(entry, alloc) : { ...alloc, JobVersion: version };
    if (at >= 0 && Array.isArray(entry.allocs)) entry.allocs[at] = merged;
    else entry.allocs = at >= 0 ? merged : oneOrMany(list.concat([merged])); // concat: exactly as long
  }
}

/** [JobModifyIndex, Version] of `job`. */
function versionOf(job: NomadJob): number[] {
  return [job.JobModifyIndex ?? 0, job.Version ?? 0];
}

/** `versions` with [index, version] in order of index (a new array, exactly as long). */
function withJobVersion(versions: number[], index: number, version: number): number[] {
  let at = 0;
  for (; at < versions.length && (versions[at] as number) <= index; at += 2)
    if (versions[at] === index) return versions;
  return versions.slice(0, at).concat([index, version], versions.slice(at)); // concat: exactly as long
}

/** The allocation with the version of the job current at its creation, if that version is known. */
function withVersion(entry: Entry, alloc: AllocationView): AllocationView {
  let version: number | undefined;
  const versions =
    entry.versions === NONE && entry.job && !entry.stub ? versionOf(entry.job) : entry.versions;
  for (let i = 0; i < versions.length; i += 2)
    if ((versions[i] as number) <= alloc.CreateIndex) version = versions[i + 1];
  if (version === undefined) return alloc;
  return { ...alloc, JobVersion: version };
}

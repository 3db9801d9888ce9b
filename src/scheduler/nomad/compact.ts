// What the Nomad read cache (cache.ts) keeps of a job and of an allocation: the fields observe and
// its placement messages read, their repeated strings interned, and shared empty values.
import { interner } from "../../api/intern.ts";
import type {
  NomadAllocation,
  NomadConstraint,
  NomadJob,
  NomadJobListStub,
  NomadTaskEvent,
  NomadTaskState,
} from "../../clients/nomad/types.ts";
import { SPEC_HASH_TARGET } from "./meta.ts";
import type { AllocationView } from "./observe.ts";

/**
 * The fields of a job that observe and its placement messages read (ids, indexes, status, meta,
 * constraints, and per group its count, volumes and tasks' resources): the task configuration,
 * environment, templates and services are not kept (~3.5 KB per job at 10,000). A job observed
 * from the cache carries this as `rendered`; `mlopsctl plan`, which diffs against it, has no stream
 * and reads the whole job.
 */
export function compactJob(job: NomadJob): NomadJob {
  // One literal: its members in the object itself (members added one by one spill into a property
  // array); absent ones are undefined, as JSON and the readers take them. Its task groups are one
  // frozen tree shared by every job of the same shape (read only: replicas, placement messages).
  // The id and the name (most often the id again) are the job's own: not interned, where each was
  // a table entry that never served another job (they fill it, and it starts over when full).
  const compact = {
    ID: job.ID,
    Name: job.Name === job.ID ? job.ID : job.Name,
    Namespace: shared(job.Namespace),
    Type: shared(job.Type),
    Status: shared(job.Status),
    Stop: job.Stop,
    Version: job.Version,
    Priority: job.Priority,
    CreateIndex: job.CreateIndex,
    ModifyIndex: job.ModifyIndex,
    JobModifyIndex: job.JobModifyIndex,
    Meta: job.Meta,
    Constraints: job.Constraints,
    SpecHash: undefined as string | undefined,
    TaskGroups: job.TaskGroups.map((g) => ({
      Name: g.Name,
      Count: g.Count,
      ...(g.Volumes ? { Volumes: g.Volumes } : {}),
      Tasks: g.Tasks.map((t) => ({
        Name: t.Name,
        Driver: t.Driver,
        Config: NO_CONFIG,
        Resources: t.Resources,
      })),
    })),
  } as CompactJob;
  // Meta and the constraints walked on their own: their strings interned, the array exactly as long.
  // The operator's own constraint, the whole-spec hash (meta.ts), is kept as its value alone
  // (SpecHash): an array, its backing store and an object per job were ~100 bytes (docs/benchmarks.md,
  // round 30); specHashOf reads either. Most jobs have no other constraint left: null, as Nomad
  // writes an empty list.
  if (compact.Meta) interner.internAll(compact.Meta);
  const lifted = liftSpecHash(compact.Constraints);
  if (lifted) {
    compact.Constraints = lifted.others.length > 0 ? interner.internAll({ c: lifted.others }).c : null;
    compact.SpecHash = lifted.hash;
  } else if (compact.Constraints) compact.Constraints = interner.internAll({ c: compact.Constraints }).c;
  compact.TaskGroups = interner.shareTree(compact.TaskGroups);
  return compact;
}

/** A compact job: Nomad's fields, and its spec-hash constraint's value lifted out of Constraints. */
export interface CompactJob extends NomadJob {
  SpecHash?: string;
}

/** The spec-hash constraint's value and the other constraints; undefined without that constraint. */
function liftSpecHash(
  constraints: NomadJob["Constraints"],
): { readonly hash: string; readonly others: NomadConstraint[] } | undefined {
  const at = constraints?.findIndex((c) => c.LTarget === SPEC_HASH_TARGET) ?? -1;
  if (!constraints || at < 0) return undefined;
  const hash = constraints[at]?.RTarget;
  if (typeof hash !== "string") return undefined;
  return { hash, others: constraints.filter((_, i) => i !== at) };
}

/** A listed job as the cache keeps it until a Job event or a read brings the whole job. */
export function stubJob(stub: NomadJobListStub): NomadJob {
  return {
    ID: stub.ID,
    Name: stub.Name,
    Namespace: interner.intern(stub.Namespace),
    Type: interner.intern(stub.Type),
    Status: interner.intern(stub.Status),
    Stop: stub.Stop,
    Priority: stub.Priority,
    CreateIndex: stub.CreateIndex,
    ModifyIndex: stub.ModifyIndex,
    JobModifyIndex: stub.JobModifyIndex,
    Meta: stub.Meta ? interner.internAll(stub.Meta) : stub.Meta,
    Constraints: null,
    TaskGroups: NONE,
  } as unknown as NomadJob;
}

/**
 * One empty array for every entry's versions and allocations until it has some, and every listed
 * stub's groups (32 bytes each, ~0.6 MB at 10,000): frozen, as both are only ever replaced
 * (withJobVersion, concat), never grown in place.
 */
export const NONE = Object.freeze([]) as unknown as never[];

/** A compact job's task configuration: not kept (one shared empty object). */
const NO_CONFIG: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * The fields of an allocation that observe reads (of those of Nomad's AllocListStub, what
 * GET /v1/job/:id/allocations answers; not its evaluations' ids nor its create and modify times,
 * ~120 bytes an allocation): an event's allocation also carries its resources, metrics and network
 * status, which are not kept. Its own id and name never recur, so they are not interned (they only
 * filled the table, which starts over when full, and cost a lookup each).
 */
export function compact(a: AllocationView): AllocationView {
  return {
    ID: a.ID,
    Name: a.Name,
    Namespace: shared(a.Namespace),
    NodeID: shared(a.NodeID),
    NodeName: shared(a.NodeName),
    JobID: a.JobID, // the job's own string where the cache holds the job (NomadReadCache)
    JobVersion: a.JobVersion,
    TaskGroup: shared(a.TaskGroup),
    DesiredStatus: shared(a.DesiredStatus),
    DesiredDescription: shared(a.DesiredDescription),
    ClientStatus: shared(a.ClientStatus),
    ClientDescription: shared(a.ClientDescription),
    TaskStates: compactTaskStates(a.TaskStates),
    ...(a.NextAllocation ? { NextAllocation: a.NextAllocation } : {}),
    ...(a.PreviousAllocation ? { PreviousAllocation: a.PreviousAllocation } : {}),
    CreateIndex: a.CreateIndex,
    ModifyIndex: a.ModifyIndex,
  };
}

/**
 * The task states as observe reads them (observe.ts: replicaOf, failureOf): state, failure, restarts,
 * start and finish, and of each event that decides something (below) its type, time, exit code,
 * signal, messages, driver error and the OOM kill. Nomad writes all 24 fields of every event, most of
 * them empty, a Details map that repeats what is set, and up to 10 events per task: about 6 KB for
 * an allocation that restarted. Task states with nothing of their own (a pending task, its events
 * all informational) are one frozen tree shared by every allocation of that shape: 250 bytes a
 * pending allocation at 10,000 (docs/benchmarks.md, round 30).
 */
function compactTaskStates(states: NomadAllocation["TaskStates"]): NomadAllocation["TaskStates"] {
  if (!states) return states;
  const out: Record<string, NomadTaskState> = {};
  for (const name in states) {
    const state = states[name] as NomadTaskState;
    out[shared(name)] = {
      State: shared(state.State),
      Failed: state.Failed,
      Restarts: state.Restarts,
      StartedAt: state.StartedAt,
      FinishedAt: state.FinishedAt,
      Events: state.Events ? decidingEvents(state.Events) : null,
    };
  }
  return interner.shareTree(out);
}

/**
 * The event types replicaOf and failureOf decide by: the last Terminated (exit code, OOM kill), the
 * failures they name, and Started (a failure before it is over). Any other event (Received, Task
 * Setup, Driver, Restarting, Killing, ...) is skipped by both, unless its text tells of
 * max_run_duration, which replicaOf looks for in every event's text.
 */
const DECIDING = new Set([
  "Terminated",
  "Driver Failure",
  "Failed Validation",
  "Setup Failure",
  "Failed Artifact Download",
  "Sibling Task Failed",
  "Started",
]);

function decidingEvents(events: readonly NomadTaskEvent[]): NomadTaskEvent[] {
  const kept = events.filter(decides);
  return kept.length > 0 ? kept.map(compactEvent) : NO_EVENTS; // map: an array exactly as long
}

function decides(e: NomadTaskEvent): boolean {
  return DECIDING.has(e.Type) || /max_run_duration/.test(`${e.DisplayMessage ?? ""} ${e.Message ?? ""}`);
}

/** The events of a task none of whose events decides anything (shared, frozen). */
const NO_EVENTS = Object.freeze([]) as unknown as NomadTaskEvent[];

const OOM_KILLED: Readonly<Record<string, string>> = Object.freeze({ oom_killed: "true" });

function compactEvent(e: NomadTaskEvent): NomadTaskEvent {
  // Nearly every event has a display message: one literal holds it in the object itself (a member
  // added later goes to a property array of its own, ~40 bytes an allocation).
  const event: NomadTaskEvent = e.DisplayMessage
    ? { Type: shared(e.Type), Time: e.Time, DisplayMessage: shared(e.DisplayMessage) }
    : { Type: shared(e.Type), Time: e.Time };
  if (e.Message) event.Message = shared(e.Message);
  if (e.ExitCode) event.ExitCode = e.ExitCode;
  if (e.Signal) event.Signal = e.Signal;
  if (e.DriverError) event.DriverError = shared(e.DriverError);
  if (e.Details?.oom_killed === "true") event.Details = OOM_KILLED;
  return event;
}

function shared<T>(value: T): T {
  return (typeof value === "string" ? interner.intern(value) : value) as T;
}

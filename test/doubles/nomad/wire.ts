// Server: Nomad 1.9.6 (and 2.0.3 where noted), hashicorp/nomad. Follows: nomad/structs/structs.go
// (Allocation.Stub, JobListStub), scheduler/util.go (tasksUpdated), nomad/state/events.go.
// The shapes the Nomad double serves, as a Nomad server writes them: allocations (list stubs and full
// objects), evaluations, task events, job list stubs, event-stream events; plus the comparisons Nomad makes on a
// re-registration (canonical submission). Node built-ins only.
import { randomUUID } from "node:crypto";
import type {
  NomadAllocation,
  NomadEvaluation,
  NomadEvent,
  NomadJob,
  NomadJobListStub,
} from "../../../src/clients/nomad/types.ts";

export function key(namespace: string, id: string): string {
  return `${namespace}/${id}`;
}

/** JSON with sorted keys: two submissions compare equal when their content is equal. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** What a task runner sets on an event (nomad/structs/structs.go, TaskEvent's Set* methods). */
export interface TaskEventSet {
  exitCode?: number;
  signal?: number;
  oomKilled?: boolean;
  driverError?: string;
  restartReason?: string;
  restartDelayNs?: number;
  failsTask?: boolean;
}

/**
 * A task event as Nomad writes it: every field of structs.TaskEvent (none is omitted when empty),
 * zero unless set, and `Details` filled by the setters that set a field (SetExitCode: exit_code,
 * SetSignal: signal, SetOOMKilled: oom_killed, SetDriverError: driver_error, SetRestartReason:
 * restart_reason, SetRestartDelay: start_delay, SetFailsTask: fails_task). `message` is the
 * DisplayMessage the client's PopulateEventDisplayMessage writes.
 */
export function taskEvent(type: string, message: string, set: TaskEventSet = {}) {
  const details: Record<string, string> = {};
  if (set.failsTask) details.fails_task = "true";
  if (set.driverError) details.driver_error = set.driverError;
  if (set.exitCode !== undefined) details.exit_code = String(set.exitCode);
  if (set.signal !== undefined) details.signal = String(set.signal);
  if (set.restartDelayNs !== undefined) details.start_delay = String(set.restartDelayNs);
  if (set.restartReason !== undefined) details.restart_reason = set.restartReason;
  if (set.oomKilled !== undefined) details.oom_killed = String(set.oomKilled);
  return {
    Type: type,
    Time: Date.now() * 1_000_000,
    Message: "",
    DisplayMessage: message,
    Details: details,
    FailsTask: set.failsTask ?? false,
    RestartReason: set.restartReason ?? "",
    SetupError: "",
    DriverError: set.driverError ?? "",
    ExitCode: set.exitCode ?? 0,
    Signal: set.signal ?? 0,
    KillTimeout: 0,
    KillError: "",
    KillReason: "",
    StartDelay: set.restartDelayNs ?? 0,
    DownloadError: "",
    ValidationError: "",
    DiskLimit: 0,
    FailedSibling: "",
    VaultError: "",
    TaskSignalReason: "",
    TaskSignal: "",
    DriverMessage: "",
    GenericSource: "",
  } as NonNullable<NonNullable<NomadAllocation["TaskStates"]>[string]["Events"]>[number];
}

/**
 * A new evaluation of the job (its indexes set when it is written): complete with the placement
 * failures of a plan (`failed`), or the blocked one Nomad creates to place what failed
 * (CreateBlockedEval, nomad/structs/structs.go: it copies the failures).
 */
export function newEval(
  job: NomadJob,
  status: "complete" | "blocked",
  failed: NomadEvaluation["FailedTGAllocs"] | undefined,
): NomadEvaluation {
  return {
    ID: randomUUID(),
    JobID: job.ID,
    Namespace: job.Namespace,
    Status: status,
    StatusDescription: status === "blocked" ? "created to place remaining allocations" : "",
    BlockedEval: "",
    FailedTGAllocs: status === "blocked" ? structuredClone(failed ?? null) : (failed ?? null),
    JobModifyIndex: job.JobModifyIndex ?? 0,
    CreateIndex: 0,
    ModifyIndex: 0,
  };
}

export function newAlloc(job: NomadJob, group: string, index: number, evalId: string): NomadAllocation {
  const now = Date.now() * 1_000_000;
  const tasks = job.TaskGroups.find((g) => g.Name === group)?.Tasks ?? [];
  return {
    ID: randomUUID(),
    EvalID: evalId,
    Name: `${job.ID}.${group}[${index}]`,
    Namespace: job.Namespace,
    NodeID: "f3c2a5b4-0000-4000-8000-000000000001",
    NodeName: "double-node-1",
    JobID: job.ID,
    JobType: job.Type,
    JobVersion: job.Version ?? 0,
    TaskGroup: group,
    DesiredStatus: "run",
    DesiredDescription: "",
    ClientStatus: "pending",
    ClientDescription: "No tasks have started",
    TaskStates: Object.fromEntries(
      tasks.map((t) => [
        t.Name,
        {
          State: "pending",
          Failed: false,
          Restarts: 0,
          StartedAt: null,
          FinishedAt: null,
          LastRestart: null,
          Events: [taskEvent("Received", "Task received by client")],
        },
      ]),
    ),
    FollowupEvalID: "",
    NextAllocation: "",
    PreviousAllocation: "",
    CreateIndex: 0,
    ModifyIndex: 0,
    CreateTime: now,
    ModifyTime: now,
  } as NomadAllocation;
}

export function stamp(alloc: NomadAllocation, index: number): NomadAllocation {
  if (alloc.CreateIndex === 0) alloc.CreateIndex = index;
  alloc.ModifyIndex = index;
  alloc.ModifyTime = Date.now() * 1_000_000;
  return alloc;
}

export function jobEvent(type: string, job: NomadJob): Omit<NomadEvent, "Index"> {
  return {
    Topic: "Job",
    Type: type,
    Key: job.ID,
    Namespace: job.Namespace,
    FilterKeys: null,
    Payload: { Job: job },
  };
}

/**
 * An evaluation as the event stream carries it (nomad/state/events.go, table "evals"): Topic
 * Evaluation, Key the eval ID, FilterKeys the job ID and deployment ID, Payload.Evaluation. The
 * scheduler's status update of an evaluation (and the blocked evaluation it creates) is an
 * EvalUpdateRequestType write: Type "EvaluationUpdated".
 */
export function evalEvent(evaluation: NomadEvaluation): Omit<NomadEvent, "Index"> {
  return {
    Topic: "Evaluation",
    Type: "EvaluationUpdated",
    Key: evaluation.ID,
    Namespace: evaluation.Namespace,
    FilterKeys: [evaluation.JobID, ""],
    Payload: { Evaluation: evaluation },
  };
}

/**
 * An allocation as the event stream carries it (table "allocs"). An event's Type is that of the
 * write that changed the table (nomad/state/events.go, MsgTypeEvents), for every table it changed:
 * a client's update of an allocation is "AllocationUpdated", a plan's placement "PlanResult".
 */
export function allocEvent(
  alloc: NomadAllocation,
  type: "AllocationUpdated" | "PlanResult" = "AllocationUpdated",
): Omit<NomadEvent, "Index"> {
  return {
    Topic: "Allocation",
    Type: type,
    Key: alloc.ID,
    Namespace: alloc.Namespace,
    FilterKeys: [alloc.JobID],
    Payload: { Allocation: fullAlloc(alloc, null) },
  };
}

/**
 * An allocation as GET /v1/allocation/:id and the event stream carry it (not a list stub): its
 * members as they are now, serialized at once (the answer's body; an event when published).
 */
export function fullAlloc(alloc: NomadAllocation, job: NomadJob | null): Record<string, unknown> {
  const { JobType: _type, JobVersion: _version, ...rest } = alloc;
  return { ...rest, Job: job };
}

/** An allocation as GET /v1/job/:id/allocations lists it (AllocListStub). */
export function allocStub(alloc: NomadAllocation): Record<string, unknown> {
  const { PreviousAllocation: _previous, ...rest } = alloc;
  return rest;
}

export function stub(job: NomadJob, meta: boolean, summary: unknown): NomadJobListStub {
  return {
    ID: job.ID,
    ParentID: "",
    Name: job.Name,
    Namespace: job.Namespace,
    Datacenters: job.Datacenters,
    NodePool: job.NodePool ?? "default",
    Type: job.Type,
    Priority: job.Priority,
    Periodic: false,
    ParameterizedJob: false,
    Stop: job.Stop ?? false,
    Status: job.Status ?? "pending",
    StatusDescription: "",
    JobSummary: summary,
    CreateIndex: job.CreateIndex ?? 0,
    ModifyIndex: job.ModifyIndex ?? 0,
    JobModifyIndex: job.JobModifyIndex ?? 0,
    SubmitTime: job.SubmitTime ?? 0,
    ...(meta ? { Meta: job.Meta ?? null } : {}),
  } as NomadJobListStub;
}

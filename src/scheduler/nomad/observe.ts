// observe (pure): a Nomad job, its allocations and its latest evaluation → ObservedRun. Nomad's job
// Status says only pending/running/dead (nomad#3144): the outcome comes from the allocations of the
// current run (JobVersion ≥ the version the run was registered at; older ones belong to earlier
// runs), the latest allocation per replica index (a reschedule makes a new one, linked by
// NextAllocation), and the task events that say why (OOM, image pull, exit code, restarts used up).
import { isoTimeOf } from "../../api/iso-time.ts";
import type {
  NomadAllocation,
  NomadAllocationMetric,
  NomadEvaluation,
  NomadJob,
  NomadTaskEvent,
} from "../../clients/nomad/types.ts";

/**
 * An allocation as observe reads it: what the read cache keeps (cache.ts, compact) or a whole one
 * from the server. Not its evaluations' ids nor its create and modify times, which nothing reads.
 */
export type AllocationView = Omit<NomadAllocation, "EvalID" | "FollowupEvalID" | "CreateTime" | "ModifyTime">;

import type { ObservedReplica, ObservedRun } from "../port.ts";
import { META, replicaCount, specHashOf } from "./meta.ts";
import { type PlacementTarget, placementProblem } from "./placement.ts";

export interface NomadView {
  readonly job: NomadJob;
  readonly allocations: readonly AllocationView[];
  /** The job's evaluations (any order): the latest one's FailedTGAllocs tells a blocked placement. */
  readonly evaluations?: readonly NomadEvaluation[];
  /** Where the target Nomad is configured (for placement messages). */
  readonly target?: PlacementTarget;
}

/** How many replica indexes of the current run have an allocation (to know whether to ask why not). */
export function placedReplicas(job: NomadJob, allocations: readonly AllocationView[]): number {
  const runVersion = Number(job.Meta?.[META.runVersion] ?? job.Version ?? 0);
  const indexes = new Set<number>();
  for (const a of allocations) {
    const index = allocIndex(a.Name);
    if (a.JobID === job.ID && a.JobVersion >= runVersion && index !== undefined) indexes.add(index);
  }
  return indexes.size;
}

/** Whether fewer replicas of the job's current run have an allocation than it asks for (not stopped). */
export function missingReplicas(job: NomadJob, allocations: readonly AllocationView[]): boolean {
  return !job.Stop && placedReplicas(job, allocations) < replicaCount(job);
}

export function observeRun(view: NomadView): ObservedRun {
  const { job } = view;
  const meta = job.Meta ?? {};
  const runVersion = meta[META.runVersion] !== undefined ? Number(meta[META.runVersion]) : (job.Version ?? 0);
  const latest = new Map<number, AllocationView[]>();
  for (const alloc of view.allocations) {
    if (alloc.JobID !== job.ID || alloc.JobVersion < runVersion) continue;
    const index = allocIndex(alloc.Name);
    if (index === undefined) continue;
    latest.set(index, [...(latest.get(index) ?? []), alloc]);
  }
  const replicas = [...latest.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, allocs]) => {
      const ordered = [...allocs].sort((a, b) => a.CreateIndex - b.CreateIndex);
      const last = ordered.at(-1) as AllocationView;
      return replicaOf(last, index, ordered.length - 1);
    });
  const starts = replicas.flatMap((r) => (r.startedAt ? [r.startedAt] : [])).sort();
  const blocked = blockedOf(view, replicas.length);
  const generation = Number(meta[META.generation]);
  const attempt = Number(meta[META.attempt]);
  const specHash = specHashOf(job);
  return {
    ownerId: meta[META.ownerId],
    runId: meta[META.runId],
    generation: Number.isFinite(generation) ? generation : undefined,
    specHash,
    runSpecHash: meta[META.runSpecHash],
    ...(Number.isInteger(attempt) && attempt > 0 ? { attempt } : {}),
    stopped: job.Stop === true,
    replicas,
    ...(blocked ? { blocked } : {}),
    ...(starts[0] ? { startTime: starts[0] } : {}),
    rendered: job,
  };
}

/** `job.group[3]` → 3. */
export function allocIndex(name: string): number | undefined {
  const match = /\[(\d+)\]$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

export function replicaOf(alloc: AllocationView, index: number, reschedules: number): ObservedReplica {
  const states = Object.values(alloc.TaskStates ?? {});
  const restarts = states.reduce((n, s) => n + (s.Restarts ?? 0), 0) + reschedules;
  const startedAt = earliest(states.map((s) => s.StartedAt));
  const finishedAt = latestTime(states.map((s) => s.FinishedAt));
  const events = states.flatMap((s) => s.Events ?? []).sort((a, b) => a.Time - b.Time);
  const base = {
    index,
    id: alloc.ID,
    restarts,
    ...(alloc.NodeName || alloc.NodeID ? { node: alloc.NodeName || alloc.NodeID } : {}),
    ...(startedAt ? { startedAt } : {}),
  };
  const ended = finishedAt ? { finishedAt } : {};
  const failure = failureOf(events);
  switch (alloc.ClientStatus) {
    case "pending":
      return {
        ...base,
        state: "pending",
        ...(failure ? { reason: failure.reason, message: failure.message } : {}),
      };
    case "running":
      return {
        ...base,
        state: "running",
        ...(failure ? { reason: failure.reason, message: failure.message } : {}),
      };
    case "complete": {
      const terminated = lastOf(events, "Terminated");
      if (alloc.DesiredStatus === "evict") return preempted(alloc, base, ended);
      if (/max_run_duration/.test(`${alloc.ClientDescription} ${events.map(text).join(" ")}`)) {
        return {
          ...base,
          ...ended,
          state: "failed",
          exhausted: true,
          reason: "DeadlineExceeded",
          message: "allocation exceeded max_run_duration",
        };
      }
      if (alloc.DesiredStatus !== "run" && terminated?.ExitCode !== 0) {
        return {
          ...base,
          ...ended,
          state: "failed",
          exhausted: false,
          reason: "Stopped",
          message: stopText(alloc),
        };
      }
      return { ...base, ...ended, state: "succeeded", exitCode: 0, reason: "Completed" };
    }
    case "lost":
      return {
        ...base,
        ...ended,
        state: "failed",
        exhausted: !alloc.NextAllocation,
        reason: "NodeLost",
        message: alloc.ClientDescription || "allocation lost: its node stopped answering",
      };
    default: {
      if (alloc.DesiredStatus === "evict") return preempted(alloc, base, ended);
      const exit = lastOf(events, "Terminated")?.ExitCode;
      return {
        ...base,
        ...ended,
        state: "failed",
        exhausted: !alloc.NextAllocation,
        ...(exit !== undefined ? { exitCode: exit } : {}),
        reason: failure?.reason ?? "Error",
        message: failure?.message ?? (alloc.ClientDescription || "allocation failed"),
      };
    }
  }
}

/**
 * A driver failure that is about getting the image: Nomad's docker driver wraps every pull error as
 * "Failed to pull `<image>`: <engine error>" (drivers/docker/coordinator.go recoverablePullError), the
 * engine's own words being "manifest unknown", "pull access denied", "No such image" or go-dockerclient's
 * "Error: image … not found". Other driver failures that name an image or say "not found"
 * ("Failed to create container configuration for image …", "failed to create container: network …
 * not found", drivers/docker/driver.go) are not.
 */
export const IMAGE_PULL =
  /Failed to pull|manifest unknown|pull access denied|No such image|Error: image \S+ not found/i;

/** The reason the task last failed, from its events (most recent failure wins). */
export function failureOf(
  events: readonly NomadTaskEvent[],
): { reason: string; message: string } | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i] as NomadTaskEvent;
    switch (e.Type) {
      case "Terminated": {
        const code = e.ExitCode ?? 0;
        if (e.Details?.oom_killed === "true") {
          return { reason: "OOMKilled", message: `exit code ${code}: killed by the kernel OOM killer` };
        }
        if (code === 137) {
          return {
            reason: "OOMKilled",
            message: "exit code 137: killed (SIGKILL), possibly by the OOM killer",
          };
        }
        if (code !== 0)
          return { reason: "Error", message: `exit code ${code}${e.Signal ? `, signal ${e.Signal}` : ""}` };
        return undefined;
      }
      case "Driver Failure": {
        const detail = e.DriverError || e.DisplayMessage || e.Message || "driver failure";
        return { reason: IMAGE_PULL.test(detail) ? "ImageNotFound" : "DriverFailure", message: detail };
      }
      case "Failed Validation":
        return { reason: "InvalidTaskConfig", message: text(e) || "task failed validation" };
      case "Setup Failure":
        return { reason: "SetupFailure", message: text(e) || "task setup failed" };
      case "Failed Artifact Download":
        return { reason: "ArtifactDownloadFailed", message: text(e) || "artifact download failed" };
      case "Sibling Task Failed":
        return { reason: "SiblingTaskFailed", message: text(e) || "a sibling task failed" };
      case "Started":
        return undefined;
      default:
    }
  }
  return undefined;
}

/**
 * Evicted to make room for a job of higher priority: the scheduler sets DesiredStatus "evict" and
 * DesiredDescription "Preempted by alloc ID …" (nomad/structs: AllocDesiredStatusEvict).
 */
function preempted(
  alloc: AllocationView,
  base: Omit<ObservedReplica, "state">,
  ended: { finishedAt?: string },
): ObservedReplica {
  return {
    ...base,
    ...ended,
    state: "failed",
    exhausted: true,
    reason: "Preempted",
    message: alloc.DesiredDescription || "allocation preempted",
  };
}

function blockedOf(view: NomadView, placed: number): ObservedRun["blocked"] {
  const { job } = view;
  if (job.Stop || placed >= replicaCount(job)) return undefined;
  // The newest evaluation that ran: a "blocked" one only waits for capacity (it carries the failures
  // of the evaluation that created it); a later one that ran without failures means placement went
  // through.
  const latest = [...(view.evaluations ?? [])]
    .filter((e) => e.Status !== "blocked")
    .sort((a, b) => b.CreateIndex - a.CreateIndex)[0];
  const failed = latest?.FailedTGAllocs;
  if (!failed || Object.keys(failed).length === 0) return undefined;
  const [group, metric] = Object.entries(failed)[0] as [string, NomadAllocationMetric];
  return placementProblem(job, group, metric, view.target);
}

function lastOf(events: readonly NomadTaskEvent[], type: string): NomadTaskEvent | undefined {
  return [...events].reverse().find((e) => e.Type === type);
}

function text(e: NomadTaskEvent): string {
  return e.DisplayMessage || e.Message || "";
}

function stopText(alloc: AllocationView): string {
  return alloc.DesiredDescription || "allocation stopped";
}

/** Of the readable times, as ISO strings of their millisecond (one length: they sort by time). */
function validTimes(times: readonly (string | null | undefined)[]): string[] {
  return times.map(isoTimeOf).filter((t): t is string => t !== undefined);
}

function earliest(times: readonly (string | null | undefined)[]): string | undefined {
  return validTimes(times).sort()[0];
}

function latestTime(times: readonly (string | null | undefined)[]): string | undefined {
  return validTimes(times).sort().at(-1);
}

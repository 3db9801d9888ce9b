// Server: Nomad 1.9.6, hashicorp/nomad. Follows: nomad/state/state_store.go (getJobStatus,
// updateSummaryWithAlloc), nomad/structs/structs.go (TerminalStatus of allocations and evaluations).
// What the Nomad double derives from a job's allocations and evaluations: its Status and its summary
// (GET /v1/job/:id/summary, and the JobSummary of a list stub).
import type {
  NomadAllocation,
  NomadAllocationMetric,
  NomadEvaluation,
  NomadJob,
} from "../../../src/clients/nomad/types.ts";

/** Evaluation statuses Nomad counts as terminal (structs.Evaluation.TerminalStatus). */
const TERMINAL_EVAL = new Set(["complete", "failed", "canceled"]);

/** Desired to stop or evicted, or ended on its client (structs.Allocation.TerminalStatus). */
export function isTerminalAlloc(alloc: NomadAllocation): boolean {
  return (
    alloc.DesiredStatus === "stop" ||
    alloc.DesiredStatus === "evict" ||
    ["complete", "failed", "lost"].includes(alloc.ClientStatus)
  );
}

/**
 * A batch job's Status as Nomad writes it with every change of the job, its allocations or its
 * evaluations (getJobStatus): running while any allocation under its id is not terminal (`allocs`:
 * of any version, a placed one still pending included), else pending while an evaluation is not
 * terminal (`evaluating`: the register's own, written with the job), else dead; pending when it has
 * neither (a new job whose evaluation is not written yet).
 */
export function jobStatusOf(
  job: NomadJob,
  allocs: readonly NomadAllocation[],
  evals: readonly NomadEvaluation[],
  evaluating: boolean,
): NonNullable<NomadJob["Status"]> {
  if (allocs.some((a) => !isTerminalAlloc(a))) return "running";
  if (evaluating || evals.some((e) => !TERMINAL_EVAL.has(e.Status))) return "pending";
  return allocs.length > 0 || evals.length > 0 || job.Stop ? "dead" : "pending";
}

/**
 * The job's summary: per task group its allocations (of the current instance) by client status,
 * and Queued set to the group's count while its placement fails (`blocked`); `allocsIndex` is the
 * allocations table's index.
 */
export function jobSummary(
  job: NomadJob,
  allocs: readonly NomadAllocation[],
  blocked: Record<string, NomadAllocationMetric> | undefined,
  allocsIndex: number,
) {
  const groups: Record<string, Record<string, number>> = {};
  for (const group of job.TaskGroups) {
    groups[group.Name] = { Queued: 0, Complete: 0, Failed: 0, Running: 0, Starting: 0, Lost: 0, Unknown: 0 };
  }
  for (const alloc of allocs) {
    const g = groups[alloc.TaskGroup];
    if (!g) continue;
    const field = { pending: "Starting", running: "Running", complete: "Complete", failed: "Failed" }[
      alloc.ClientStatus as string
    ];
    const name = field ?? (alloc.ClientStatus === "lost" ? "Lost" : "Unknown");
    g[name] = (g[name] ?? 0) + 1;
  }
  for (const group of Object.keys(blocked ?? {})) {
    const g = groups[group];
    if (g) g.Queued = job.TaskGroups.find((t) => t.Name === group)?.Count ?? 0;
  }
  return {
    JobID: job.ID,
    Namespace: job.Namespace,
    Summary: groups,
    Children: { Pending: 0, Running: 0, Dead: 0 },
    CreateIndex: job.CreateIndex ?? 0,
    ModifyIndex: allocsIndex,
  };
}

// The first half of every TrainingJob reconcile, shared by the reconciler and `mlopsctl plan`: what
// the scheduler reports of the job (observe), the spec's hashes, what decide() makes of both, and
// the request a submit would send. One call of the scheduler (observe); everything else is pure.
import { OperatorError } from "../api/errors.ts";
import { type KeyParts, keyOf, parseKey, type ResourceKey, type TrainingJob } from "../api/resources.ts";
import type { ObservedRun, RunRequest, Scheduler } from "../scheduler/port.ts";
import type { ResolvedSecrets } from "../secrets/index.ts";
import { type Decision, decide } from "./decide.ts";
import { runSpecHash, specHash } from "./hash.ts";

export interface RunPlanInput {
  readonly ownerId: string;
  readonly now: Date;
  readonly startupTimeoutMs: number;
  /** The job's resolved valueFrom values (their hash is part of the run spec when the job says so). */
  readonly secrets?: ResolvedSecrets | undefined;
}

export interface RunPlan {
  readonly observed: ObservedRun | undefined;
  readonly hashes: { readonly specHash: string; readonly runSpecHash: string };
  readonly decision: Decision;
  /** What submit sends (values of secrets included: never printed). */
  readonly request: RunRequest;
}

/** Observes the job on `scheduler` and decides; throws what observe throws. */
export async function planRun(job: TrainingJob, scheduler: Scheduler, input: RunPlanInput): Promise<RunPlan> {
  const parts = jobKey(keyOf(job));
  const observed = await scheduler.observe(parts, job.status?.run?.schedulerVersion);
  const hashes = { specHash: specHash(job.spec), runSpecHash: runSpecHash(job.spec, input.secrets?.hash) };
  const decision = decide({
    key: keyOf(job),
    spec: job.spec,
    generation: job.metadata.generation,
    ...hashes,
    recorded: job.status?.run,
    observed,
    ownerId: input.ownerId,
    now: input.now,
    startupTimeoutMs: input.startupTimeoutMs,
  });
  const request: RunRequest = {
    key: parts,
    ownerId: input.ownerId,
    runId: decision.runId,
    generation: decision.runGeneration,
    ...hashes,
    spec: job.spec,
    attempt: decision.attempt,
    ...(input.secrets ? { secrets: input.secrets.values } : {}),
  };
  return { observed, hashes, decision, request };
}

export function jobKey(key: ResourceKey): KeyParts & { kind: "TrainingJob" } {
  const parts = parseKey(key);
  if (parts.kind !== "TrainingJob")
    throw new OperatorError("InternalError", `${key} is not a TrainingJob`, { terminal: true });
  return { ...parts, kind: "TrainingJob" };
}

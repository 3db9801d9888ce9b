// Status from what was observed and decided: pure, one call per reconcile, into the model of
// model.ts. The only place a TrainingJob's phase and conditions are derived.

import { type Condition, type ConditionInput, findCondition, setConditions } from "../api/conditions.ts";
import { inObject } from "../api/intern.ts";
import { isoTime } from "../api/iso-time.ts";
import type { TrainingJob, TrainingJobStatus } from "../api/resources.ts";
import type { ObservedRun, SchedulerName } from "../scheduler/port.ts";
import type { Decision, RunRecord } from "./decide.ts";
import { blockerReason, type Phase, recordedReason, rowOf, type TrainingJobReason } from "./model.ts";
import type { RunProgress, ServiceHealth } from "./ports.ts";
import { nextProgress, type ProgressStatus, progressStalled } from "./progress.ts";
import type { QueueState } from "./queueing.ts";

/** Why a job cannot proceed right now (no scheduler, stack not ready, scheduler unreachable). */
export interface Blocker {
  readonly reason: string;
  readonly message: string;
  /** Stalled (needs the user) rather than waiting (resolves by itself). */
  readonly stalled?: boolean;
  /**
   * The scheduler did not answer (unreachable, 5xx): what runs there is unknown, not changed. The
   * recorded phase is kept and Ready becomes Unknown with reason SchedulerUnavailable.
   */
  readonly unavailable?: boolean;
}

/** Ready's reason while the scheduler of a job does not answer. */
export const SCHEDULER_UNAVAILABLE = "SchedulerUnavailable";

export interface StatusInput {
  readonly job: TrainingJob;
  readonly now: Date;
  readonly revision: string | undefined;
  readonly scheduler?: { readonly name: SchedulerName; readonly target: string };
  readonly decision?: Decision;
  /** The run record after this reconcile's apply step (ids, times, annotation). */
  readonly run?: RunRecord;
  readonly blocker?: Blocker;
  readonly health?: ServiceHealth;
  /** Why health is unknown (Consul unreachable): MetricsHealthy becomes Unknown with this reason. */
  readonly healthError?: { readonly reason: string; readonly message: string };
  /** This reconcile's reading of the run's progress metrics, if any (progress.ts). */
  readonly progress?: RunProgress;
  /** The job's place in its TrainingQueue (queueing.ts), when it names one. */
  readonly queue?: QueueState;
}

export function statusFrom(input: StatusInput): TrainingJobStatus {
  const { job, now, decision, run } = input;
  const previous = job.status ?? {};
  const generation = job.metadata.generation;
  if (input.blocker?.unavailable && !input.blocker.stalled) return unavailableStatus(input);
  const { phase, reason, message } = phaseOf(input);
  const row = rowOf(phase);
  const conditions: ConditionInput[] = [];
  const stalled = input.blocker?.stalled === true || row.stalled === "True";
  conditions.push({ type: "Ready", status: row.ready, reason, message });
  // kstatus's abnormal-true conditions are present only while True (as Flux writes them): a
  // resource that is neither reconciling nor stalled carries neither.
  if (stalled) conditions.push({ type: "Stalled", status: "True", reason, message });
  else if (row.reconciling === "True")
    conditions.push({ type: "Reconciling", status: "True", reason, message });
  if (row.jobCondition) conditions.push({ type: row.jobCondition, status: "True", reason, message });
  const queue = input.queue;
  if (queue?.waiting) {
    const { reason: why, message: text } = queue.waiting;
    conditions.push({ type: "Admitted", status: "False", reason: why, message: text });
  } else if (queue?.admitted) {
    const text = `admitted by queue ${queue.record.name}`;
    conditions.push({ type: "Admitted", status: "True", reason: "Admitted", message: text });
  }

  // While the scheduler cannot place the run (Nomad's FailedTGAllocs): why, as its own condition.
  const blocked = decision?.current?.blocked;
  if (phase === "Pending" && blocked && reason === blocked.reason && message === blocked.message)
    conditions.push({ type: "Unschedulable", status: "True", reason, message });
  const health = input.health;
  if (job.spec.metrics && !health && input.healthError && phase === "Running") {
    conditions.push({
      type: "MetricsHealthy",
      status: "Unknown",
      reason: input.healthError.reason,
      message: input.healthError.message,
    });
  }
  if (job.spec.metrics && health && phase === "Running") {
    const healthy = health.status === "passing";
    conditions.push({
      type: "MetricsHealthy",
      status: healthy ? "True" : "False",
      reason: healthy ? "ChecksPassing" : `Checks${capitalize(health.status)}`,
      message: healthy ? `${health.instances} endpoint(s) passing` : health.output,
    });
  }
  // Progress belongs to a run: a new run starts without the previous one's.
  const progress = nextProgress(
    previous.run?.id === run?.id ? (previous.progress as ProgressStatus | undefined) : undefined,
    input.progress,
    now,
  );
  if (phase === "Running") {
    const readySince = previous.phase === "Running" ? findCondition(previous.conditions, "Ready") : undefined;
    const stalledProgress = progressStalled({
      // Without a metrics endpoint there is no progress to read: the deadline does not apply.
      deadlineSeconds: job.spec.metrics ? job.spec.progressDeadlineSeconds : undefined,
      progress,
      runningSince: readySince?.lastTransitionTime ?? isoTime(now),
      now,
    });
    if (stalledProgress) conditions.push(stalledProgress);
  }
  const status: TrainingJobStatus = {
    observedGeneration: generation,
    phase,
    conditions: setConditions(previous.conditions as Condition[] | undefined, conditions, generation, now),
  };
  const revision = input.revision ?? previous.lastAppliedRevision;
  if (revision) status.lastAppliedRevision = revision;
  if (progress) status.progress = progress;
  if (queue) status.queue = { ...queue.record };
  if (run) {
    status.run = pruneUndefined({
      ...run,
      ...(input.scheduler ? { scheduler: input.scheduler.name, target: input.scheduler.target } : {}),
      ...(decision?.current ? replicaFields(decision.current) : {}),
    });
    if (run.startTime) status.startTime = run.startTime;
    if (run.completionTime) status.completionTime = run.completionTime;
  }
  // Assembled member by member, and kept (on the resource, in the state store's record): in one object.
  return inObject(status);
}

/**
 * The scheduler did not answer: the phase it last reported stays (a Running run is not Pending
 * because Nomad is unreachable), Ready is Unknown and Reconciling True with reason
 * SchedulerUnavailable and the error's message; the job condition of the kept phase and
 * MetricsHealthy are carried over as they were.
 */
function unavailableStatus(input: StatusInput): TrainingJobStatus {
  const { job, now, run, blocker } = input;
  const previous = job.status ?? {};
  const generation = job.metadata.generation;
  const phase: Phase = (previous.phase as Phase | undefined) ?? "Pending";
  const before = (previous.conditions ?? []) as Condition[];
  const message = `${blocker?.reason ?? "Unavailable"}: ${blocker?.message ?? ""}; phase ${phase} is the last one observed`;
  const conditions: ConditionInput[] = [
    { type: "Ready", status: "Unknown", reason: SCHEDULER_UNAVAILABLE, message },
    { type: "Reconciling", status: "True", reason: SCHEDULER_UNAVAILABLE, message },
  ];
  const jobCondition = rowOf(phase).jobCondition;
  for (const c of before) {
    if (c.type === "MetricsHealthy" || c.type === jobCondition) {
      conditions.push({ type: c.type, status: c.status, reason: c.reason, message: c.message });
    }
  }
  const status: TrainingJobStatus = {
    ...previous,
    phase,
    conditions: setConditions(before, conditions, generation, now),
  };
  if (previous.observedGeneration === undefined) status.observedGeneration = generation;
  const revision = input.revision ?? previous.lastAppliedRevision;
  if (revision) status.lastAppliedRevision = revision;
  if (run && !previous.run) status.run = pruneUndefined({ ...run });
  return status;
}

function phaseOf(input: StatusInput): { phase: Phase; reason: TrainingJobReason; message: string } {
  const { decision, blocker, job } = input;
  if (decision?.outcome) {
    return {
      phase: decision.outcome.outcome,
      reason: decision.outcome.reason,
      message: decision.outcome.message,
    };
  }
  if (input.queue?.waiting) return { phase: "Queued", ...input.queue.waiting };
  if (input.run?.outcome) {
    return {
      phase: input.run.outcome,
      reason: recordedReason(input.run.outcome, input.run.reason),
      message: input.run.message ?? "",
    };
  }
  if (blocker) return { phase: "Pending", ...blockerReason(blocker.reason, blocker.message) };
  if (decision?.notOwned) {
    return {
      phase: "Pending",
      reason: "NotOwned",
      message: "a job of the same name belongs to another operator (owner id differs); it is left alone",
    };
  }
  if (job.spec.suspend) return { phase: "Suspended", reason: "Suspended", message: "spec.suspend is true" };
  if (!decision) return { phase: "Pending", reason: "Submitted", message: "" };
  if (decision.backoff) {
    const { attempt, retryAt } = decision.backoff;
    const failed =
      decision.ended?.message ??
      job.status?.run?.attempts?.find((a) => a.attempt === attempt - 1)?.message ??
      `attempt ${attempt - 1} failed`;
    const message = `${failed}; attempt ${attempt} starts at ${retryAt} (retryPolicy.backoff)`;
    return { phase: "Pending", reason: "RetryBackoff", message };
  }
  const current = decision.current;
  // An in-place update (priority, deadline, TTL) leaves the run where it is: its phase is what the
  // scheduler reports, not Pending.
  const inPlace = decision.step.op === "submit" && decision.step.why === "update" && current !== undefined;
  if ((decision.step.op === "submit" && !inPlace) || !current) {
    const what = {
      create: "submitted",
      replace: "submitted, replacing the previous run",
      update: "updated in place",
      resume: "resumed",
      repair: "submitted again (it was removed or stopped outside the operator)",
      retry: `retried as attempt ${decision.attempt}${decision.ended ? ` (${decision.ended.message})` : ""}`,
      requeue: `admitted again as attempt ${decision.attempt} (the previous attempt was preempted)`,
    };
    const why = decision.step.op === "submit" ? decision.step.why : "create";
    return { phase: "Pending", reason: "Submitted", message: `run ${decision.runId} ${what[why]}` };
  }
  if (current.blocked)
    return { phase: "Pending", reason: current.blocked.reason, message: current.blocked.message };
  const started = current.replicas.filter((r) => r.state === "running" || r.state === "succeeded");
  if (started.length >= job.spec.replicas && current.replicas.some((r) => r.state === "running")) {
    const restarts = current.replicas.reduce((n, r) => n + r.restarts, 0);
    return restarts > 0
      ? { phase: "Running", reason: "Restarting", message: `${restarts} restart(s) so far` }
      : {
          phase: "Running",
          reason: "Running",
          message: `${started.length} of ${job.spec.replicas} replica(s) running${decision.attempt > 1 ? ` (attempt ${decision.attempt})` : ""}`,
        };
  }
  const pending = current.replicas.find((r) => r.reason && r.state === "pending");
  // Nothing reported but placements (which do not wake the job): still as submitted, message kept.
  const recorded = findCondition(job.status?.conditions, "Ready");
  if (
    recorded?.reason === "Submitted" &&
    job.status?.run?.id === decision.runId &&
    !current.replicas.some(shown)
  )
    return { phase: "Pending", reason: "Submitted", message: recorded.message };
  return {
    phase: "Pending",
    reason: "Scheduling",
    message: pending?.message ?? `${started.length} of ${job.spec.replicas} replica(s) started`,
  };
}

/**
 * The run's replicas as the status lists them: every replica but one only placed (pending, not
 * started, never restarted, no reason: see shown), none at all while only placed ones exist, as
 * right after the submit. A scheduler's placement of a run it was just sent does not wake the job
 * (Nomad: own-writes.ts), so a status that listed it would depend on whether the placement came
 * before the reconcile's read, and the next reconcile (a resync with nothing changed) would write it.
 */
function replicaFields(current: ObservedRun): Partial<RunRecord> {
  const replicas = current.replicas.filter(shown);
  if (replicas.length === 0) return {}; // as recorded right after the submit
  return {
    restarts: current.replicas.reduce((n, r) => n + r.restarts, 0),
    replicas: replicas.map(
      (r) =>
        pruneUndefined({
          index: r.index,
          id: r.id,
          node: r.node,
          address: r.address,
          state: r.state,
          exitCode: r.exitCode,
          restarts: r.restarts,
          reason: r.reason,
        }) as NonNullable<RunRecord["replicas"]>[number],
    ),
  };
}

/** Whether the status lists the replica: anything but pending, or pending with a reason, a start or a restart. */
function shown(replica: ObservedRun["replicas"][number]): boolean {
  return !(
    replica.state === "pending" &&
    !replica.reason &&
    replica.restarts === 0 &&
    replica.startedAt === undefined
  );
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** `value` without its undefined members, every member in the object itself (inObject: kept for as long as the status). */
function pruneUndefined<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const key in value) if (value[key] !== undefined) out[key] = value[key];
  return inObject(out) as T;
}

// What a TrainingJob's run needs now: a pure function of the spec, the recorded run (status) and
// what the scheduler reports. It carries the run semantics of the product:
// - each run-defining spec runs at most once; its outcome is kept and never re-created, even when
//   the scheduler forgets the job (GC, TTL purge): a 404 after completion is not a failure;
// - in-place fields (suspend, deadline, TTL, priority) update the live run;
// - an unfinished run stopped behind the operator's back is resumed; one removed is submitted again
//   as the next attempt, a platform failure (self-heal);
// - the operator owns attempts: a failed replica ends the attempt, and the run is submitted again as
//   the next attempt (every replica, MLOPS_ATTEMPT one higher) while the failure's budget allows
//   (backoffLimit for the code's failures, retryPolicy.infraRetryLimit for the platform's; retry.ts);
//   otherwise the whole run fails (the rest are stopped); so do the deadline and, for distributed
//   runs, replicas not all running within the startup timeout (no gang scheduling). With
//   retryPolicy.backoff the next attempt waits for its delay first (retry-backoff.ts).

import type { TrainingJobSpec, TrainingJobStatus } from "../api/generated/types.ts";
import { isoTime } from "../api/iso-time.ts";
import type { ObservedReplica, ObservedRun } from "../scheduler/port.ts";
import {
  type AttemptHistory,
  afterFailure,
  afterRemoval,
  type EndedAttempt,
  failureText,
} from "./attempt-verdict.ts";
import { runIdFor } from "./hash.ts";
import { failedRunReason, recordedReason, type TrainingJobReason } from "./model.ts";
import { awaitingRetry, endedAt, failuresOf, retryDelayMs } from "./retry-backoff.ts";

export type RunRecord = NonNullable<TrainingJobStatus["run"]>;

export interface DecideInput {
  readonly key: string;
  readonly spec: TrainingJobSpec;
  readonly generation: number;
  readonly specHash: string;
  readonly runSpecHash: string;
  /** The run recorded in status, if any. */
  readonly recorded: RunRecord | undefined;
  readonly observed: ObservedRun | undefined;
  readonly ownerId: string;
  readonly now: Date;
  /** Distributed runs: all replicas must be running within this time of submission. */
  readonly startupTimeoutMs: number;
}

export interface Outcome {
  readonly outcome: "Succeeded" | "Failed";
  readonly reason: TrainingJobReason;
  readonly message: string;
}

export type Step =
  | { readonly op: "none" }
  | {
      readonly op: "submit";
      readonly why: "create" | "replace" | "update" | "resume" | "repair" | "retry" | "requeue";
    }
  | { readonly op: "stop"; readonly why: "suspend" | "failed" | "replaced" | "preempted" }
  | { readonly op: "purge"; readonly why: "ttl" };

export interface Decision {
  /** The current run: recorded, adopted from the scheduler after a crash, or new. */
  readonly runId: string;
  readonly runGeneration: number;
  readonly newRun: boolean;
  /** True when the scheduler's object belongs to another operator: nothing is done. */
  readonly notOwned: boolean;
  readonly step: Step;
  /** The run's outcome when it is (or has just become) finished. */
  readonly outcome: Outcome | undefined;
  /** The scheduler's view of the current run (undefined when it reports another run or none). */
  readonly current: ObservedRun | undefined;
  /** When to look again without an event (deadline, startup timeout, TTL), in ms from now. */
  readonly wakeInMs: number | undefined;
  /** The attempt that runs (or is submitted) now: MLOPS_ATTEMPT, from 1. */
  readonly attempt: number;
  /** The attempt that has just ended in failure, as status records it. */
  readonly ended?: EndedAttempt;
  /** Set while a failed attempt's retry waits for its backoff: when, and as which attempt. */
  readonly backoff?: { readonly retryAt: string; readonly attempt: number };
}

export function decide(input: DecideInput): Decision {
  const { observed, recorded, spec, now } = input;
  const identity = currentRun(input);
  const current = observed && observed.runId === identity.runId ? observed : undefined;
  const attempt = attemptOf(input, identity.newRun, current);
  const base = { ...identity, current, notOwned: false, attempt };

  if (observed && observed.ownerId !== input.ownerId) {
    return { ...base, notOwned: true, step: { op: "none" }, outcome: undefined, wakeInMs: undefined };
  }

  const recordedOutcome =
    !identity.newRun && recorded?.outcome
      ? {
          outcome: recorded.outcome,
          reason: recordedReason(recorded.outcome, recorded.reason),
          message: recorded.message ?? "",
        }
      : undefined;

  if (recordedOutcome) {
    return { ...base, ...finished(input, current, recordedOutcome, recorded?.completionTime) };
  }

  // The attempt its queue preempted has ended; the next one is submitted once the queue admits it again.
  const last = identity.newRun ? undefined : recorded?.attempts?.at(-1);
  if (last?.preemptedBy !== undefined && last.completionTime !== undefined && !spec.suspend) {
    if ((current?.attempt ?? 0) <= last.attempt) {
      const step = { op: "submit", why: "requeue" } as const;
      return { ...base, attempt: last.attempt + 1, step, outcome: undefined, wakeInMs: undefined };
    }
  }

  const startedAt = !identity.newRun && recorded?.startTime ? Date.parse(recorded.startTime) : undefined;
  // The startup timeout counts from the current attempt's start (every attempt starts every replica).
  const attemptStart = recorded?.attempts?.find((a) => a.attempt === attempt && attempt > 1)?.startTime;
  const attemptStartedAt = !identity.newRun && attemptStart ? Date.parse(attemptStart) : startedAt;
  const deadlineFrom = identity.newRun ? undefined : deadlineStartOf(recorded?.attempts, startedAt);
  const stale = current?.attempt !== undefined && current.attempt < attempt;
  const failed = current && !stale && !spec.suspend ? failedReplica(current) : undefined;
  const clocks = { deadlineFrom, attemptStartedAt };
  // A failure recorded while its retry waits for its backoff, whatever the scheduler reports of it
  // now (Nomad may have collected the dead job; a suspend stopped the other replicas): judged once,
  // as recorded, neither a removal nor counted again; suspended, it is not a failed run either.
  const waiting = identity.newRun ? undefined : awaitingRetry(recorded, current?.attempt);
  if (waiting && !spec.suspend) {
    const at = endedAt(waiting.completionTime, now);
    return retryAfter(input, base, failuresOf(historyOf(input, attempt)), at, clocks);
  }
  if (current && failed) {
    const history = historyOf(input, attempt);
    const verdict = afterFailure(history, failed);
    if (verdict.outcome) {
      return {
        ...base,
        ended: verdict.ended,
        ...finished(input, current, verdict.outcome, isoTime(now)),
      };
    }
    const at = endedAt(verdict.ended.completionTime, now);
    return retryAfter(input, { ...base, ended: verdict.ended }, failuresOf(history), at, clocks);
  }
  const outcome =
    current && !stale && !waiting
      ? outcomeOf(current, spec, deadlineFrom, now, input.startupTimeoutMs, attemptStartedAt)
      : undefined;
  if (outcome) {
    return { ...base, ...finished(input, current, outcome, isoTime(now)) };
  }

  // Unfinished: deadline and startup timeout also apply while nothing runs (e.g. blocked placement).
  const late = current || spec.suspend ? undefined : deadlineOutcome(spec, deadlineFrom, now);
  if (late) return { ...base, step: { op: "none" }, outcome: late, wakeInMs: undefined };

  const wakeInMs = timers(spec, deadlineFrom, now, input.startupTimeoutMs, attemptStartedAt);
  if (spec.suspend) {
    const running = observed !== undefined && !observed.stopped && observed.replicas.some(isActive);
    return {
      ...base,
      step: running ? { op: "stop", why: "suspend" } : { op: "none" },
      outcome: undefined,
      wakeInMs,
    };
  }
  if (!current && identity.newRun) {
    const why = observed ? "replace" : "create";
    return { ...base, step: { op: "submit", why }, outcome: undefined, wakeInMs };
  }
  if (!current) {
    // Removed outside the operator (job purged, containers removed): the platform's failure; the
    // next attempt is submitted while infraRetryLimit allows.
    const verdict = afterRemoval(historyOf(input, attempt));
    if (verdict.outcome)
      return {
        ...base,
        ended: verdict.ended,
        step: { op: "none" },
        outcome: verdict.outcome,
        wakeInMs: undefined,
      };
    return {
      ...base,
      attempt: attempt + 1,
      ended: verdict.ended,
      step: { op: "submit", why: "repair" },
      outcome: undefined,
      wakeInMs,
    };
  }
  if (current.stopped) {
    return { ...base, step: { op: "submit", why: "resume" }, outcome: undefined, wakeInMs };
  }
  if (stale) return { ...base, step: { op: "submit", why: "retry" }, outcome: undefined, wakeInMs };
  if (current.specHash !== input.specHash) {
    return { ...base, step: { op: "submit", why: "update" }, outcome: undefined, wakeInMs };
  }
  return { ...base, step: { op: "none" }, outcome: undefined, wakeInMs };
}

/**
 * A failed attempt that may be retried: the next attempt now, or, within its backoff (retry-backoff.ts),
 * nothing until then (the deadline still applies).
 */
function retryAfter(
  input: DecideInput,
  base: Omit<Decision, "step" | "outcome" | "wakeInMs">,
  failures: number,
  ended: number,
  clocks: { deadlineFrom: number | undefined; attemptStartedAt: number | undefined },
): Decision {
  const { spec, now } = input;
  const retryAt = ended + retryDelayMs(spec, failures);
  const wake = timers(spec, clocks.deadlineFrom, now, input.startupTimeoutMs, clocks.attemptStartedAt);
  if (now.getTime() >= retryAt) {
    const step = { op: "submit", why: "retry" } as const;
    return { ...base, attempt: base.attempt + 1, step, outcome: undefined, wakeInMs: wake };
  }
  const late = deadlineOutcome(spec, clocks.deadlineFrom, now);
  if (late) return { ...base, ...finished(input, base.current, late, isoTime(now)) };
  const backoff = { retryAt: isoTime(new Date(retryAt)), attempt: base.attempt + 1 };
  const wakeInMs = Math.min(retryAt - now.getTime(), wake ?? Number.POSITIVE_INFINITY);
  return { ...base, backoff, step: { op: "none" }, outcome: undefined, wakeInMs };
}

/** The attempt of the current run: the newest recorded or observed one; 1 for a new run. */
function attemptOf(input: DecideInput, newRun: boolean, current: ObservedRun | undefined): number {
  if (newRun) return 1;
  const recorded = input.recorded?.attempts?.at(-1)?.attempt ?? 1;
  return Math.max(recorded, current?.attempt ?? 1);
}

/** Earlier attempts by the budget they were charged to: a queue's preemption is charged to none. */
function historyOf(input: DecideInput, attempt: number): AttemptHistory {
  const earlier = (input.recorded?.attempts ?? [])
    .filter((a) => a.attempt < attempt)
    .map((a) => (a.preemptedBy === undefined ? a.counted : undefined));
  return { spec: input.spec, earlier, attempt };
}

function failedReplica(run: ObservedRun): ObservedReplica | undefined {
  return run.replicas.find((r) => r.state === "failed" && (r.exhausted ?? true));
}

function currentRun(input: DecideInput): { runId: string; runGeneration: number; newRun: boolean } {
  const { recorded, observed } = input;
  if (recorded?.id && recorded.specHash === input.runSpecHash && recorded.generation !== undefined) {
    return { runId: recorded.id, runGeneration: recorded.generation, newRun: false };
  }
  if (observed?.runId && observed.runSpecHash === input.runSpecHash && observed.ownerId === input.ownerId) {
    // Submitted before a crash, never recorded: adopt it rather than start a second run.
    return { runId: observed.runId, runGeneration: observed.generation ?? input.generation, newRun: false };
  }
  return {
    runId: runIdFor(input.key, input.generation, input.runSpecHash),
    runGeneration: input.generation,
    newRun: true,
  };
}

function finished(
  input: DecideInput,
  current: ObservedRun | undefined,
  outcome: Outcome,
  completionTime: string | undefined,
): Pick<Decision, "step" | "outcome" | "wakeInMs"> {
  const stillActive = current !== undefined && !current.stopped && current.replicas.some(isActive);
  if (stillActive) return { step: { op: "stop", why: "failed" }, outcome, wakeInMs: undefined };
  const ttl = input.spec.ttlSecondsAfterFinished;
  if (ttl === undefined || completionTime === undefined || input.observed === undefined) {
    return { step: { op: "none" }, outcome, wakeInMs: undefined };
  }
  const due = Date.parse(completionTime) + ttl * 1000 - input.now.getTime();
  return due <= 0
    ? { step: { op: "purge", why: "ttl" }, outcome, wakeInMs: undefined }
    : { step: { op: "none" }, outcome, wakeInMs: due };
}

function isActive(replica: ObservedReplica): boolean {
  return replica.state === "pending" || replica.state === "running";
}

/** The verdict on a run from what the scheduler reports, or undefined while it goes on. */
export function outcomeOf(
  run: ObservedRun,
  spec: TrainingJobSpec,
  deadlineFrom: number | undefined,
  now: Date,
  startupTimeoutMs: number,
  attemptStartedAt: number | undefined = deadlineFrom,
): Outcome | undefined {
  const failed = run.replicas.find((r) => r.state === "failed" && (r.exhausted ?? true));
  if (failed) {
    const reason = failedRunReason(failed.reason);
    const text = failureText(failed, ` after ${failed.restarts} restart(s)`);
    return { outcome: "Failed", reason, message: `replica ${failed.index} failed${text}` };
  }
  const succeeded = run.replicas.filter((r) => r.state === "succeeded").length;
  if (run.replicas.length >= spec.replicas && succeeded >= spec.replicas) {
    return {
      outcome: "Succeeded",
      reason: "Succeeded",
      message: `${succeeded} of ${spec.replicas} replica(s) completed`,
    };
  }
  if (spec.suspend) return undefined; // suspended time does not count: resuming restarts the clock
  const late = deadlineOutcome(spec, deadlineFrom, now);
  if (late) return late;
  if (
    spec.replicas > 1 &&
    attemptStartedAt !== undefined &&
    now.getTime() - attemptStartedAt >= startupTimeoutMs
  ) {
    const started = run.replicas.filter(
      (r) => r.startedAt !== undefined || r.state === "running" || r.state === "succeeded",
    ).length;
    if (started < spec.replicas) {
      return {
        outcome: "Failed",
        reason: "StartupTimeout",
        message: `only ${started} of ${spec.replicas} replicas started within ${Math.round(startupTimeoutMs / 1000)} s (Nomad has no gang scheduling)`,
      };
    }
  }
  return undefined;
}

/**
 * When the active deadline counts from: the run's start or, once its queue preempted it, the start of
 * the attempt its queue admitted again (undefined until then). A preempted run's clock restarts when
 * it is admitted again, as a suspended one's does when it is resumed (Kubernetes resets a Job's
 * activeDeadlineSeconds timer on suspend and resume, and Kueue preempts a Job by suspending it).
 */
function deadlineStartOf(attempts: RunRecord["attempts"], startedAt: number | undefined): number | undefined {
  const preempted = attempts?.filter((a) => a.preemptedBy !== undefined).at(-1);
  if (!preempted) return startedAt;
  const again = attempts?.find((a) => a.attempt === preempted.attempt + 1)?.startTime;
  return again === undefined ? undefined : Date.parse(again);
}

function deadlineOutcome(
  spec: TrainingJobSpec,
  startedAt: number | undefined,
  now: Date,
): Outcome | undefined {
  const deadline = spec.activeDeadlineSeconds;
  if (deadline === undefined || startedAt === undefined) return undefined;
  if (now.getTime() - startedAt < deadline * 1000) return undefined;
  return {
    outcome: "Failed",
    reason: "DeadlineExceeded",
    message: `the run was active longer than activeDeadlineSeconds (${deadline} s)`,
  };
}

function timers(
  spec: TrainingJobSpec,
  deadlineFrom: number | undefined,
  now: Date,
  startupTimeoutMs: number,
  attemptStartedAt: number | undefined,
): number | undefined {
  if (deadlineFrom === undefined || spec.suspend) return undefined;
  const elapsed = now.getTime() - deadlineFrom;
  const candidates: number[] = [];
  if (spec.activeDeadlineSeconds !== undefined) candidates.push(spec.activeDeadlineSeconds * 1000 - elapsed);
  if (spec.replicas > 1)
    candidates.push(startupTimeoutMs - (now.getTime() - (attemptStartedAt ?? deadlineFrom)));
  const positive = candidates.filter((ms) => ms > 0);
  return positive.length > 0 ? Math.min(...positive) : undefined;
}

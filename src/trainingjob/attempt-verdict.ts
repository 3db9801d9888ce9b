// What a failed or removed attempt means for the run (pure): retried as the next attempt while its
// budget allows (retry.ts says which), or the run's outcome; and the ended attempt as status records it.
import type { TrainingJobSpec } from "../api/generated/types.ts";
import type { ObservedReplica } from "../scheduler/port.ts";
import { failedRunReason, type TrainingJobReason } from "./model.ts";
import { budgets, type Classified, type Counted, classify, withinBudget } from "./retry.ts";

/** The run's outcome when an attempt may not be retried. */
export interface FailedOutcome {
  readonly outcome: "Failed";
  readonly reason: TrainingJobReason;
  readonly message: string;
}

export interface Verdict {
  readonly outcome?: FailedOutcome;
  readonly ended: EndedAttempt;
}

/** What an attempt's verdict reads: the spec's budgets and how earlier attempts counted. */
export interface AttemptHistory {
  readonly spec: Pick<TrainingJobSpec, "backoffLimit" | "retryPolicy">;
  /** The recorded attempts before this one, by the budget their failure counted against. */
  readonly earlier: readonly (Counted | undefined)[];
  readonly attempt: number;
}

export interface EndedAttempt {
  readonly attempt: number;
  readonly counted: Counted;
  readonly reason: string;
  readonly message: string;
  readonly exitCode?: number;
  readonly completionTime?: string;
  /** Stopped by its queue's preemption for this job (namespace/name): not charged to any budget. */
  readonly preemptedBy?: string;
}

/** A failed attempt: the run's outcome when it may not be retried, and the attempt's record. */
export function afterFailure(history: AttemptHistory, failed: ObservedReplica): Verdict {
  const { spec, earlier, attempt } = history;
  const cls = classify({ reason: failed.reason, exitCode: failed.exitCode }, spec);
  const used = budgets([...earlier, cls.counted], spec);
  const what = `replica ${failed.index} failed${failureText(failed, ` in attempt ${attempt}`)}`;
  const ended: EndedAttempt = {
    attempt,
    counted: cls.counted,
    reason: failed.reason ?? "Error",
    message: what,
    ...(failed.exitCode !== undefined ? { exitCode: failed.exitCode } : {}),
    ...(failed.finishedAt ? { completionTime: failed.finishedAt } : {}),
  };
  const outcome = failureOutcome(cls, used, failed, what);
  return outcome ? { outcome, ended } : { ended };
}

/**
 * " with exit code N<where>: <the scheduler's message>", the message left out when it only repeats
 * the exit code (both schedulers report a plain non-zero exit as "exit code N").
 */
export function failureText(failed: ObservedReplica, where: string): string {
  const code = failed.exitCode === undefined ? "" : ` with exit code ${failed.exitCode}`;
  const repeats = failed.message === `exit code ${failed.exitCode}`;
  const detail = failed.message && !repeats ? `: ${failed.message}` : "";
  return `${code}${where}${detail}`;
}

/** The run's job or containers were removed outside the operator: the platform's failure. */
export function afterRemoval(history: AttemptHistory): Verdict {
  const { spec, earlier, attempt } = history;
  const used = budgets([...earlier, "infra"], spec);
  const what = `attempt ${attempt}: the run's job or containers were removed outside the operator`;
  const ended: EndedAttempt = { attempt, counted: "infra", reason: "Removed", message: what };
  if (withinBudget(used, "infra")) return { ended };
  return {
    ended,
    outcome: {
      outcome: "Failed",
      reason: "InfraRetryLimitExceeded",
      message: `${what}; ${used.infra.used} platform failure(s), retryPolicy.infraRetryLimit is ${used.infra.limit}`,
    },
  };
}

function failureOutcome(
  cls: Classified,
  used: ReturnType<typeof budgets>,
  failed: ObservedReplica,
  what: string,
): FailedOutcome | undefined {
  if (cls.rule === "failOnExitCodes") {
    return {
      outcome: "Failed",
      reason: "FailOnExitCode",
      message: `${what} (exit code listed in retryPolicy.failOnExitCodes)`,
    };
  }
  if (!cls.retry) return { outcome: "Failed", reason: failedRunReason(failed.reason), message: what };
  if (withinBudget(used, cls.counted)) return undefined;
  const budget = used[cls.counted];
  if (cls.counted === "infra") {
    return {
      outcome: "Failed",
      reason: "InfraRetryLimitExceeded",
      message: `${what}; ${budget.used} platform failure(s), retryPolicy.infraRetryLimit is ${budget.limit}`,
    };
  }
  return {
    outcome: "Failed",
    reason: failedRunReason(failed.reason),
    message: `${what}; ${budget.used} failure(s) of the run's code, backoffLimit is ${budget.limit}`,
  };
}

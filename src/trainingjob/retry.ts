// Which budget a failed attempt counts against, and whether it may be retried (pure).
// - user: the run's own failure (non-zero exit, OOM, even one caused by a noisy neighbour): backoffLimit;
// - infra: the platform's (node or allocation lost, preempted, container removed, driver or setup
//   failure, a Docker engine restart): retryPolicy.infraRetryLimit;
// - some failures are not worth a retry (the image does not exist, the task config is invalid, the
//   deadline passed): they fail the run at once, counted as user failures;
// - retryPolicy.failOnExitCodes fail at once; retryOnExitCodes always retry within backoffLimit.
import type { TrainingJobSpec } from "../api/generated/types.ts";
import { FAILURE_REASONS, type FailureReason } from "../scheduler/port.ts";

export type Counted = "user" | "infra";

export interface FailureClass {
  readonly counted: Counted;
  /** False: the run fails now, whatever the budgets. */
  readonly retry: boolean;
}

/** Every reason a scheduler reports a failed replica with, as a class (a test checks it is total). */
export const FAILURE_CLASSES: Readonly<Record<FailureReason, FailureClass>> = {
  Error: { counted: "user", retry: true },
  OOMKilled: { counted: "user", retry: true },
  SiblingTaskFailed: { counted: "user", retry: true },
  ArtifactDownloadFailed: { counted: "user", retry: true },
  ImageNotFound: { counted: "user", retry: false },
  InvalidTaskConfig: { counted: "user", retry: false },
  CreateContainerError: { counted: "user", retry: false },
  RunContainerError: { counted: "user", retry: false },
  DeadlineExceeded: { counted: "user", retry: false },
  NodeLost: { counted: "infra", retry: true },
  Preempted: { counted: "infra", retry: true },
  DriverFailure: { counted: "infra", retry: true },
  SetupFailure: { counted: "infra", retry: true },
  ContainerRemoved: { counted: "infra", retry: true },
  Stopped: { counted: "infra", retry: true },
  DaemonRestarted: { counted: "infra", retry: true },
};

export const DEFAULT_INFRA_RETRY_LIMIT = 3;

export interface FailedAttempt {
  readonly reason: string | undefined;
  readonly exitCode?: number | undefined;
}

export interface Classified extends FailureClass {
  /** Set when an exit code list decided: "failOnExitCodes" or "retryOnExitCodes". */
  readonly rule?: "failOnExitCodes" | "retryOnExitCodes";
}

/** The class of one failed attempt under the spec's retryPolicy. An unknown reason counts as the user's. */
export function classify(failure: FailedAttempt, spec: Pick<TrainingJobSpec, "retryPolicy">): Classified {
  const code = failure.exitCode;
  const policy = spec.retryPolicy;
  if (code !== undefined && code !== 0) {
    if (policy?.failOnExitCodes?.includes(code))
      return { counted: "user", retry: false, rule: "failOnExitCodes" };
    if (policy?.retryOnExitCodes?.includes(code))
      return { counted: "user", retry: true, rule: "retryOnExitCodes" };
  }
  const known = (FAILURE_REASONS as readonly string[]).includes(failure.reason ?? "");
  return known ? FAILURE_CLASSES[failure.reason as FailureReason] : { counted: "user", retry: true };
}

export interface Budgets {
  readonly user: { readonly used: number; readonly limit: number };
  readonly infra: { readonly used: number; readonly limit: number };
}

/** Failures counted so far (the failed attempt included) against each budget. */
export function budgets(
  counted: readonly (Counted | undefined)[],
  spec: Pick<TrainingJobSpec, "backoffLimit" | "retryPolicy">,
): Budgets {
  return {
    user: { used: counted.filter((c) => c === "user").length, limit: spec.backoffLimit },
    infra: {
      used: counted.filter((c) => c === "infra").length,
      limit: spec.retryPolicy?.infraRetryLimit ?? DEFAULT_INFRA_RETRY_LIMIT,
    },
  };
}

/** After a failure of class `counted`: whether its budget allows another attempt. */
export function withinBudget(b: Budgets, counted: Counted): boolean {
  const budget = b[counted];
  return budget.used <= budget.limit;
}

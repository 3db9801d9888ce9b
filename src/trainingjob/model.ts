// The TrainingJob status model: one table of phases × kstatus conditions × reasons, shared by every
// scheduler (docs/status-model.md renders the same table; a test keeps the two in step).
// `Ready` for a batch run means "the run of this generation is where the user asked it to be":
// running, finished successfully, or suspended. A failed run is not Ready and is Stalled.

import { BLOCKED_REASONS, FAILURE_REASONS, type FailureReason } from "../scheduler/port.ts";

export type Phase = "Queued" | "Pending" | "Running" | "Succeeded" | "Failed" | "Suspended";

/**
 * Every reason a TrainingJob's conditions can carry, by phase: the one union of the kind. The status
 * table (PHASES, docs/status-model.md) is generated from it, and status.ts can only produce these
 * (the type says so; test/trainingjob/status-model.test.ts checks every producer's vocabulary).
 */
export const REASONS = {
  Queued: ["WaitingForQuota", "QuotaExceeded", "QueueNotFound", "Preempted"],
  Pending: [
    "Submitted",
    "Scheduling",
    "RetryBackoff",
    ...BLOCKED_REASONS,
    "WaitingForStack",
    "NomadUnavailable",
    "DockerUnavailable",
    "SchedulerUnavailable",
    "NamespaceNotFound",
    "NotOwned",
    "Forbidden",
    "SecretNotFound",
    "SecretInvalid",
    "ReconcileError",
  ],
  Running: ["Running", "Restarting"],
  Succeeded: ["Succeeded"],
  Failed: [
    "BackoffLimitExceeded",
    "InfraRetryLimitExceeded",
    "FailOnExitCode",
    ...FAILURE_REASONS.filter((r): r is Exclude<FailureReason, "Error"> => r !== "Error"),
    "StartupTimeout",
    "Error",
  ],
  Suspended: ["Suspended"],
} as const satisfies Record<Phase, readonly string[]>;

export type TrainingJobReason = (typeof REASONS)[Phase][number] | "InvalidSpec";

const KNOWN = new Set<string>([...Object.values(REASONS).flat(), "InvalidSpec"]);

export function isReason(value: string): value is TrainingJobReason {
  return KNOWN.has(value);
}

/** A failed replica's reason as the run's: "Error" (a plain non-zero exit) means the retries ran out. */
export function failedRunReason(replicaReason: string | undefined): TrainingJobReason {
  if (replicaReason === undefined || replicaReason === "Error") return "BackoffLimitExceeded";
  return isReason(replicaReason) ? replicaReason : "Error";
}

/** The reason a finished run was recorded with (by this version or an older one). */
export function recordedReason(
  outcome: "Succeeded" | "Failed",
  reason: string | undefined,
): TrainingJobReason {
  if (reason !== undefined && isReason(reason)) return reason;
  return outcome === "Succeeded" ? "Succeeded" : "Error";
}

/**
 * An error that keeps a job from proceeding, as a condition reason: a reason of the table, or
 * `ReconcileError` with the error's own reason kept in the message.
 */
export function blockerReason(
  reason: string,
  message: string,
): { reason: TrainingJobReason; message: string } {
  return reason === "InvalidSpec" || (REASONS.Pending as readonly string[]).includes(reason)
    ? { reason: reason as TrainingJobReason, message }
    : { reason: "ReconcileError", message: `${reason}: ${message}` };
}

/**
 * kstatus conditions (Ready always; Reconciling and Stalled only while True, abnormal-true as Flux
 * and kstatus expect), plus the job-level ones (as Kubernetes Jobs).
 */
export const CONDITION_TYPES = [
  "Ready",
  "Reconciling",
  "Stalled",
  "Complete",
  "Failed",
  "Suspended",
  "MetricsHealthy",
  "ProgressStalled",
  "Admitted",
] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

export interface PhaseRow {
  readonly phase: Phase;
  readonly ready: "True" | "False";
  readonly reconciling: "True" | "False";
  readonly stalled: "True" | "False";
  /** Job-level condition that is True in this phase, if any. */
  readonly jobCondition?: "Complete" | "Failed" | "Suspended";
  /** Reasons that may accompany the phase (on Ready, and on Stalled/Failed where true). */
  readonly reasons: readonly TrainingJobReason[];
  readonly meaning: string;
}

export const PHASES: readonly PhaseRow[] = [
  {
    phase: "Queued",
    ready: "False",
    reconciling: "True",
    stalled: "False",
    reasons: REASONS.Queued,
    meaning:
      "The job names a TrainingQueue (spec.queue) that has not admitted its run: nothing is registered with the scheduler yet (or, Preempted, its run was stopped to make room for a run of higher priority and waits to be admitted again); Admitted is False and status.queue gives the position (docs/queues.md).",
  },
  {
    phase: "Pending",
    ready: "False",
    reconciling: "True",
    stalled: "False",
    reasons: REASONS.Pending,
    meaning:
      "The run of this generation is not running yet: being submitted, waiting for placement or capacity, or for its stack; or, RetryBackoff, its failed attempt's retry waits for retryPolicy.backoff.",
  },
  {
    phase: "Running",
    ready: "True",
    reconciling: "False",
    stalled: "False",
    reasons: REASONS.Running,
    meaning:
      "Every replica of the run's current attempt has started (status.run.attempts lists earlier ones).",
  },
  {
    phase: "Succeeded",
    ready: "True",
    reconciling: "False",
    stalled: "False",
    jobCondition: "Complete",
    reasons: REASONS.Succeeded,
    meaning: "Every replica exited 0. Kept in status even after Nomad garbage-collects the job.",
  },
  {
    phase: "Failed",
    ready: "False",
    reconciling: "False",
    stalled: "True",
    jobCondition: "Failed",
    reasons: REASONS.Failed,
    meaning:
      "A replica failed and may not be retried (its budget, backoffLimit or retryPolicy.infraRetryLimit, is used up, or its exit code is in failOnExitCodes): the whole run is stopped; or the deadline or startup timeout passed.",
  },
  {
    phase: "Suspended",
    ready: "True",
    reconciling: "False",
    stalled: "False",
    jobCondition: "Suspended",
    reasons: REASONS.Suspended,
    meaning: "spec.suspend is true: replicas are stopped; setting it false resumes the same run.",
  },
];

/** Independent of phase: the spec cannot be run as written (terminal, never retried). */
export const INVALID_SPEC_ROW = {
  reason: "InvalidSpec",
  ready: "False",
  reconciling: "False",
  stalled: "True",
  meaning:
    "The document fails to parse or validate; the message names file, line and column. Nothing is changed.",
} as const;

export function rowOf(phase: Phase): PhaseRow {
  const row = PHASES.find((r) => r.phase === phase);
  if (!row) throw new Error(`unknown phase ${phase}`);
  return row;
}

/** Fields that change a live run in place; any other spec change starts a new run. */
export const IN_PLACE_FIELDS = [
  "suspend",
  "activeDeadlineSeconds",
  "ttlSecondsAfterFinished",
  "priority",
  "restartOnSecretChange",
  "progressDeadlineSeconds",
] as const;

export function isFinished(phase: Phase | undefined): boolean {
  return phase === "Succeeded" || phase === "Failed";
}

/** The phase table as Markdown: docs/status-model.md carries it verbatim (a test checks). */
export function phaseTableMarkdown(): string {
  const row = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [
    row(["phase", "Ready", "Reconciling", "Stalled", "job condition", "reasons", "meaning"]),
    // Reconciling and Stalled are written only when True; "—" marks them absent.
    row(["---", "---", "---", "---", "---", "---", "---"]),
    ...PHASES.map((r) =>
      row([
        r.phase,
        r.ready,
        present(r.reconciling),
        present(r.stalled),
        r.jobCondition ?? "—",
        r.reasons.join(", "),
        r.meaning,
      ]),
    ),
    row([
      "(any)",
      INVALID_SPEC_ROW.ready,
      present(INVALID_SPEC_ROW.reconciling),
      present(INVALID_SPEC_ROW.stalled),
      "—",
      INVALID_SPEC_ROW.reason,
      INVALID_SPEC_ROW.meaning,
    ]),
  ].join("\n");
}

/** An abnormal-true condition's cell: True, or "—" (absent). */
function present(status: "True" | "False"): string {
  return status === "True" ? "True" : "—";
}

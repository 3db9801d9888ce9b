// The TrainingJob status model: one table of phases × kstatus conditions × reasons, shared by every
// scheduler (docs/status-model.md renders the same table; a test keeps the two in step).
// `Ready` for a batch run means "the run of this generation is where the user asked it to be":
// running, finished successfully, or suspended. A failed run is not Ready and is Stalled.

export type Phase = "Pending" | "Running" | "Succeeded" | "Failed" | "Suspended";

/** kstatus conditions every resource carries, plus the job-level ones (as Kubernetes Jobs). */
export const CONDITION_TYPES = [
  "Ready",
  "Reconciling",
  "Stalled",
  "Complete",
  "Failed",
  "Suspended",
  "MetricsHealthy",
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
  readonly reasons: readonly string[];
  readonly meaning: string;
}

export const PHASES: readonly PhaseRow[] = [
  {
    phase: "Pending",
    ready: "False",
    reconciling: "True",
    stalled: "False",
    reasons: [
      "Submitted",
      "Scheduling",
      "Unschedulable",
      "MissingDevice",
      "MissingHostVolume",
      "InsufficientResources",
      "WaitingForStack",
      "NomadUnavailable",
      "DockerUnavailable",
      "NamespaceNotFound",
      "NotOwned",
      "Forbidden",
      "SecretNotFound",
      "SecretInvalid",
    ],
    meaning:
      "The run of this generation is not running yet: being submitted, waiting for placement or capacity, or for its stack.",
  },
  {
    phase: "Running",
    ready: "True",
    reconciling: "False",
    stalled: "False",
    reasons: ["Running", "Restarting"],
    meaning: "Every replica of the run has started (some may be restarting within backoffLimit).",
  },
  {
    phase: "Succeeded",
    ready: "True",
    reconciling: "False",
    stalled: "False",
    jobCondition: "Complete",
    reasons: ["Succeeded"],
    meaning: "Every replica exited 0. Kept in status even after Nomad garbage-collects the job.",
  },
  {
    phase: "Failed",
    ready: "False",
    reconciling: "False",
    stalled: "True",
    jobCondition: "Failed",
    reasons: [
      "BackoffLimitExceeded",
      "OOMKilled",
      "ImageNotFound",
      "DeadlineExceeded",
      "StartupTimeout",
      "Error",
    ],
    meaning:
      "A replica exhausted its retries (the whole run is stopped), or the deadline or startup timeout passed.",
  },
  {
    phase: "Suspended",
    ready: "True",
    reconciling: "False",
    stalled: "False",
    jobCondition: "Suspended",
    reasons: ["Suspended"],
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
] as const;

export function isFinished(phase: Phase | undefined): boolean {
  return phase === "Succeeded" || phase === "Failed";
}

/** The phase table as Markdown: docs/status-model.md carries it verbatim (a test checks). */
export function phaseTableMarkdown(): string {
  const row = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [
    row(["phase", "Ready", "Reconciling", "Stalled", "job condition", "reasons", "meaning"]),
    row(["---", "---", "---", "---", "---", "---", "---"]),
    ...PHASES.map((r) =>
      row([
        r.phase,
        r.ready,
        r.reconciling,
        r.stalled,
        r.jobCondition ?? "—",
        r.reasons.join(", "),
        r.meaning,
      ]),
    ),
    row([
      "(any)",
      INVALID_SPEC_ROW.ready,
      INVALID_SPEC_ROW.reconciling,
      INVALID_SPEC_ROW.stalled,
      "—",
      INVALID_SPEC_ROW.reason,
      INVALID_SPEC_ROW.meaning,
    ]),
  ].join("\n");
}

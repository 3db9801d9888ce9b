// The columns `mlopsctl get` prints per kind (kubectl's printer columns), one entry per kind of the
// registry: a new kind without its columns does not compile. NAME and AGE frame every table; wide
// columns come with -o wide.
import { findCondition } from "../api/conditions.ts";
import type { Kind } from "../api/resources.ts";
import type { StatusRecord } from "../sources/state/index.ts";
import { type AttemptRecord, restartsOf } from "../trainingjob/attempts.ts";
import { describeProgress } from "../trainingjob/progress.ts";

export interface Column {
  readonly header: string;
  /** Shown with -o wide only. */
  readonly wide?: boolean;
  readonly value: (status: Status) => string;
}

type Status = Record<string, unknown> & { conditions?: never };

const ready = (status: Status) => findCondition(status.conditions, "Ready");

export const PRINTER_COLUMNS: { readonly [K in Kind]: readonly Column[] } = {
  TrainingJob: [
    { header: "PHASE", value: (s) => String(s.phase ?? "") },
    { header: "READY", value: (s) => ready(s)?.status ?? "Unknown" },
    { header: "RUN", wide: true, value: (s) => runOf(s).id ?? "<none>" },
    { header: "SCHEDULER", wide: true, value: (s) => runOf(s).scheduler ?? "<none>" },
    // Retries of the run by the budget they counted against: backoffLimit/infraRetryLimit.
    { header: "RESTARTS", wide: true, value: (s) => restartsCell(runOf(s).attempts) },
    { header: "REASON", wide: true, value: (s) => ready(s)?.reason ?? "" },
    { header: "PROGRESS", wide: true, value: (s) => progressCell(s) },
    { header: "QUEUE", wide: true, value: (s) => queueOf(s).name ?? "<none>" },
    { header: "POSITION", wide: true, value: (s) => String(queueOf(s).position ?? "<none>") },
  ],
  MlopsStack: [
    { header: "READY", value: (s) => ready(s)?.status ?? "Unknown" },
    { header: "ENDPOINTS", wide: true, value: (s) => endpoints(s.endpoints) },
  ],
  Notifier: [
    { header: "READY", value: (s) => ready(s)?.status ?? "Unknown" },
    { header: "REASON", wide: true, value: (s) => ready(s)?.reason ?? "" },
  ],
  TrainingQueue: [
    { header: "QUOTA", value: (s) => amounts(s.quota) },
    { header: "USED", value: (s) => amounts(s.usage) },
    { header: "PENDING", value: (s) => String(s.pending ?? 0) },
    { header: "ADMITTED", value: (s) => String(s.admitted ?? 0) },
  ],
};

/** Headers and cells of one record: NAME, the kind's columns (AGE after the narrow ones), wide ones last. */
export function columnsOf(
  kind: Kind,
  wide: boolean,
): { headers: string[]; cells: (r: StatusRecord, age: string) => string[] } {
  const columns = PRINTER_COLUMNS[kind];
  const narrow = columns.filter((c) => !c.wide);
  const extra = wide ? columns.filter((c) => c.wide) : [];
  return {
    headers: ["NAME", ...narrow.map((c) => c.header), "AGE", ...extra.map((c) => c.header)],
    cells: (record, age) => {
      const status = (record.status ?? {}) as Status;
      return [
        record.metadata.name,
        ...narrow.map((c) => c.value(status)),
        age,
        ...extra.map((c) => c.value(status)),
      ];
    },
  };
}

function runOf(status: Status): { id?: string; scheduler?: string; attempts?: AttemptRecord[] } {
  return (status.run ?? {}) as { id?: string; scheduler?: string; attempts?: AttemptRecord[] };
}

function restartsCell(attempts: AttemptRecord[] | undefined): string {
  const { user, infra } = restartsOf(Array.isArray(attempts) ? attempts : undefined);
  return `${user}/${infra}`;
}

/** "45% epoch 9", "STALLED 45%" while ProgressStalled is True, "<none>" before any reading. */
function progressCell(status: Status): string {
  // A run that succeeded trained to its end: its last reading (taken up to 15 s before) is stale.
  if (status.phase === "Succeeded") return "100%";
  const cell = describeProgress(status.progress as { ratio?: number; epoch?: number } | undefined);
  return findCondition(status.conditions, "ProgressStalled")?.status === "True" ? `STALLED ${cell}` : cell;
}

function queueOf(status: Status): { name?: string; position?: number } {
  return (status.queue ?? {}) as { name?: string; position?: number };
}

/** "gpus=4,cpu=32000,runs=10": a queue's amounts; "<none>" when empty (an absent quota is unlimited). */
function amounts(value: unknown): string {
  if (value === null || typeof value !== "object") return "<none>";
  const parts = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => typeof v === "number")
    .map(([k, v]) => `${k}=${v}`);
  return parts.length > 0 ? parts.join(",") : "<none>";
}

function endpoints(value: unknown): string {
  if (value === null || typeof value !== "object") return "<none>";
  const parts = Object.entries(value as Record<string, { host?: string; internal?: string } | undefined>)
    .map(([name, e]) => (e?.host || e?.internal ? `${name}=${e.host || e.internal}` : ""))
    .filter((p) => p !== "");
  return parts.length > 0 ? parts.join(",") : "<none>";
}

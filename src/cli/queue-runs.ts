// `describe tq NAME`: the runs a TrainingQueue admitted and the runs waiting for it, read from the
// TrainingJob records of its namespace (their status.queue and Admitted condition), the next to be
// admitted first. This answers "why is my run not running, and what is ahead of it" from the state
// directory alone, as the rest of describe does.
import { findCondition } from "../api/conditions.ts";
import type { StatusRecord } from "../sources/state/record.ts";
import type { QueueRecord } from "../trainingjob/queueing.ts";
import { type Amounts, RESOURCES, requestOf } from "../trainingqueue/admission.ts";
import { age, section } from "./output.ts";

export interface QueueRun {
  readonly name: string;
  readonly priority: number;
  /** replicas × resources, and one run: what the run holds (admitted) or asks for (waiting). */
  readonly request: Amounts;
  readonly phase: string;
  readonly queue: QueueRecord;
  /** The Admitted condition's reason while waiting (WaitingForQuota, QuotaExceeded, ...). */
  readonly reason?: string;
}

export interface QueueRuns {
  /** Holding the queue's quota, the earliest admitted first. */
  readonly admitted: QueueRun[];
  /** Waiting: by position (1 is admitted next), then the runs that have none (never admissible). */
  readonly waiting: QueueRun[];
}

interface JobSpec {
  readonly replicas?: number;
  readonly priority?: number;
  readonly resources?: { gpus?: number; cpu?: number; memoryMB?: number };
}

/** The runs of `jobs` (TrainingJob records of the queue's namespace) that name `queue` in their status. */
export function queueRuns(jobs: readonly StatusRecord[], queue: string): QueueRuns {
  const admitted: QueueRun[] = [];
  const waiting: QueueRun[] = [];
  for (const record of jobs) {
    const status = (record.status ?? {}) as { phase?: string; queue?: QueueRecord; conditions?: never };
    if (status.queue?.name !== queue) continue;
    const condition = findCondition(status.conditions, "Admitted");
    if (!condition) continue; // finished or suspended: it holds nothing and waits for nothing
    const spec = (record.spec ?? {}) as JobSpec;
    const run = {
      name: record.metadata.name,
      priority: spec.priority ?? 50,
      request: requestOf(spec.replicas ?? 1, spec.resources ?? {}),
      phase: status.phase ?? "",
      queue: status.queue,
    };
    if (condition.status === "True") admitted.push(run);
    else waiting.push({ ...run, reason: condition.reason });
  }
  admitted.sort(
    (a, b) => compare(a.queue.admittedAt ?? "", b.queue.admittedAt ?? "") || compare(a.name, b.name),
  );
  waiting.sort(
    (a, b) =>
      (a.queue.position ?? Number.POSITIVE_INFINITY) - (b.queue.position ?? Number.POSITIVE_INFINITY) ||
      b.priority - a.priority ||
      compare(a.queue.queuedAt, b.queue.queuedAt) ||
      compare(a.name, b.name),
  );
  return { admitted, waiting };
}

/** The two tables describe prints for a TrainingQueue (each "<none>" when empty). */
export function renderQueueRuns(runs: QueueRuns, now: Date): string {
  let out = "";
  if (runs.admitted.length === 0) out += "Admitted Runs:  <none>\n";
  else {
    const headers = ["Job", "Priority", "Request", "Phase", "Admitted"];
    const rows = runs.admitted.map((r) => [
      r.name,
      String(r.priority),
      requestText(r.request),
      r.phase,
      r.queue.admittedAt ? `${age(r.queue.admittedAt, now)} ago` : "<unknown>",
    ]);
    out += section("Admitted Runs", headers, rows);
  }
  if (runs.waiting.length === 0) out += "Waiting Runs:   <none>\n";
  else {
    const headers = ["Position", "Job", "Priority", "Request", "Reason", "Waiting"];
    const rows = runs.waiting.map((r) => [
      r.queue.position === undefined ? "-" : String(r.queue.position),
      r.name,
      String(r.priority),
      requestText(r.request),
      r.reason ?? "",
      age(r.queue.queuedAt, now),
    ]);
    out += section("Waiting Runs (position 1 is admitted next)", headers, rows);
  }
  return out;
}

/** "gpus=2,cpu=1000,runs=1": the amounts a run asks for (zeros left out; runs is always 1). */
function requestText(request: Amounts): string {
  return RESOURCES.filter((r) => (request[r] ?? 0) > 0)
    .map((r) => `${r}=${request[r]}`)
    .join(",");
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

// A TrainingQueue's runs as the TrainingJobs' status records tell them (status.queue and the Admitted
// condition): the runs it admitted, earliest first, and its waiting line, position 1 first, then the
// runs that can never be admitted. What `mlopsctl describe tq` and the status page's queue page show:
// "what is ahead of my run", from the records alone.
import { findCondition } from "../api/conditions.ts";
import { byCodeUnits } from "../api/order.ts";
import type { QueueRecord } from "../trainingjob/queueing.ts";
import { type Amounts, RESOURCES, requestOf } from "./admission.ts";

/** What queueRuns reads of a TrainingJob's status record. */
export interface JobRecord {
  readonly metadata: { readonly name: string };
  readonly spec?: unknown;
  readonly status?: unknown;
}

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
export function queueRuns(jobs: readonly JobRecord[], queue: string): QueueRuns {
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
    (a, b) => byCodeUnits(a.queue.admittedAt ?? "", b.queue.admittedAt ?? "") || byCodeUnits(a.name, b.name),
  );
  waiting.sort(
    (a, b) =>
      (a.queue.position ?? Number.POSITIVE_INFINITY) - (b.queue.position ?? Number.POSITIVE_INFINITY) ||
      b.priority - a.priority ||
      byCodeUnits(a.queue.queuedAt, b.queue.queuedAt) ||
      byCodeUnits(a.name, b.name),
  );
  return { admitted, waiting };
}

/** "gpus=2,cpu=1000,runs=1": the amounts a run asks for (zeros left out; runs is always 1). */
export function requestText(request: Amounts): string {
  return RESOURCES.filter((r) => (request[r] ?? 0) > 0)
    .map((r) => `${r}=${request[r]}`)
    .join(",");
}

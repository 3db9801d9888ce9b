// A TrainingQueue's status from the gate's view of it: pure, one call per reconcile.
import { type Condition, setConditions } from "../api/conditions.ts";
import type { TrainingQueue, TrainingQueueStatus } from "../api/resources.ts";
import { type Amounts, RESOURCES } from "./admission.ts";
import type { QueueView } from "./gate.ts";

export function queueStatus(queue: TrainingQueue, view: QueueView, now: Date): TrainingQueueStatus {
  const generation = queue.metadata.generation;
  const borrowed = borrowedOf(view.usage, queue.spec.quota ?? {});
  const status: TrainingQueueStatus = {
    observedGeneration: generation,
    quota: { ...(queue.spec.quota ?? {}) },
    usage: { ...view.usage },
    pending: view.pending,
    admitted: view.admitted,
    conditions: setConditions(
      queue.status?.conditions as Condition[] | undefined,
      [
        {
          type: "Ready",
          status: "True",
          reason: "Admitting",
          message: `${view.admitted} admitted, ${view.pending} pending`,
        },
      ],
      generation,
      now,
    ),
  };
  if (Object.keys(borrowed).length > 0) status.borrowed = borrowed;
  return status;
}

/** The part of usage above the queue's own quota (lent by its cohort). */
export function borrowedOf(usage: Amounts, quota: Amounts): Amounts {
  const out: Record<string, number> = {};
  for (const r of RESOURCES) {
    const own = quota[r];
    const used = usage[r] ?? 0;
    if (own !== undefined && used > own) out[r] = used - own;
  }
  return out;
}

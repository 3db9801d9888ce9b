// A TrainingQueue as the admission core and the preemption choice read it: its id, quota, cohort,
// borrowing limit, policies, and what its admitted runs use now.
import type { TrainingQueue } from "../api/resources.ts";
import type { Amounts, QueueInput } from "./admission.ts";
import type { PreemptingQueue } from "./preemption.ts";

export function queueInputOf(queue: TrainingQueue, usage: Amounts | undefined): QueueInput & PreemptingQueue {
  return {
    id: `${queue.metadata.namespace}/${queue.metadata.name}`,
    quota: queue.spec.quota ?? {},
    cohort: queue.spec.cohort,
    borrowingLimit: queue.spec.borrowingLimit,
    admission: queue.spec.admission ?? "StrictFIFO",
    preemption: queue.spec.preemption ?? "Never",
    usage: usage ?? {},
  };
}

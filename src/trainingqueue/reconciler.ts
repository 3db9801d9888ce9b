// The TrainingQueue reconciler: writes the queue's status (usage, borrowed, pending, admitted, Ready)
// from the admission gate, and wakes the queue's jobs when the queue changes or goes (a deleted queue
// admits nothing new: its waiting jobs say QueueNotFound; running runs are not stopped).
import type { ResourceKey, TrainingQueue } from "../api/resources.ts";
import { type Action, awaitChange, type BaseContext, type Reconciler } from "../controller/reconcile.ts";
import type { QueueAdmission } from "./gate.ts";
import { queueStatus } from "./status.ts";

export interface TrainingQueueContext extends BaseContext {
  readonly queues: QueueAdmission;
}

export class TrainingQueueReconciler implements Reconciler<TrainingQueue, TrainingQueueContext> {
  readonly kind = "TrainingQueue" as const;
  readonly #generations = new Map<ResourceKey, number>();

  async reconcile(queue: TrainingQueue, ctx: TrainingQueueContext): Promise<Action> {
    const key: ResourceKey = `TrainingQueue/${queue.metadata.namespace}/${queue.metadata.name}`;
    // A new or changed queue (quota, cohort, policy): its waiting jobs are looked at again.
    if (this.#generations.get(key) !== queue.metadata.generation) {
      this.#generations.set(key, queue.metadata.generation);
      ctx.queues.wakeJobs();
    }
    await ctx.status.write(queue, queueStatus(queue, ctx.queues.view(queue), ctx.clock.now()));
    return awaitChange;
  }

  async finalize(key: ResourceKey, _lastKnown: TrainingQueue | undefined, ctx: TrainingQueueContext) {
    this.#generations.delete(key);
    ctx.queues.wakeJobs();
    return "done" as const;
  }
}

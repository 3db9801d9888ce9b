// The TrainingQueue reconciler: admits what fits, writes the queue's status (usage, borrowed,
// pending, admitted, Ready) from the admission gate, and wakes the queue's jobs when the queue
// changes or goes (a deleted queue admits nothing new: its waiting jobs say QueueNotFound; running
// runs are not stopped).
import { makeKey, type ResourceKey, type TrainingQueue } from "../api/resources.ts";
import { type Action, awaitChange, type BaseContext, type Reconciler } from "../controller/reconcile.ts";
import type { QueueAdmission } from "./gate.ts";
import { queueStatus } from "./status.ts";

/** The generation noted for a queue whose document is invalid (no resource has it). */
const INVALID = -1;

export interface TrainingQueueContext extends BaseContext {
  readonly queues: QueueAdmission;
}

export class TrainingQueueReconciler implements Reconciler<TrainingQueue, TrainingQueueContext> {
  readonly kind = "TrainingQueue" as const;
  readonly #generations = new Map<ResourceKey, number>();

  async reconcile(queue: TrainingQueue, ctx: TrainingQueueContext): Promise<Action> {
    const id = `${queue.metadata.namespace}/${queue.metadata.name}`;
    const key = makeKey("TrainingQueue", queue.metadata.namespace, queue.metadata.name);
    // A new queue: the jobs that wait for it (or for its cohort) are looked at again; a changed one
    // (quota, cohort, policy: its old cohort's jobs may be concerned too): every waiting job.
    const seen = this.#generations.get(key);
    if (seen !== queue.metadata.generation) {
      this.#generations.set(key, queue.metadata.generation);
      ctx.queues.wakeJobs(seen === undefined ? id : undefined);
    }
    // What fits is admitted now, not when one of its waiting jobs is next looked at: the status
    // written below counts it.
    ctx.queues.admitWaiting(id);
    await ctx.status.write(queue, queueStatus(queue, ctx.queues.view(queue), ctx.clock.now()));
    return awaitChange;
  }

  async finalize(key: ResourceKey, _lastKnown: TrainingQueue | undefined, ctx: TrainingQueueContext) {
    this.#generations.delete(key);
    ctx.queues.wakeJobs();
    return "done" as const;
  }

  /**
   * An invalid queue admits nothing new, as a deleted one: its waiting jobs are woken at once to say
   * QueueNotFound (they kept the reason of the last valid spec), and once valid again it is a
   * changed queue (every waiting job woken), whatever its generation.
   */
  invalid(key: ResourceKey, _lastKnown: TrainingQueue | undefined, ctx: TrainingQueueContext): void {
    if (this.#generations.get(key) === INVALID) return;
    this.#generations.set(key, INVALID);
    ctx.queues.wakeJobs();
  }
}

// GPU-seconds per namespace (mlops_gpu_seconds_total): each time a run is observed, the time since it
// was last accounted × its running replicas × GPUs per replica is added. A run first seen by this
// process (after a start or restart) is accounted from then on: the counter starts at zero with the
// process, and counting a run's earlier time again would show twice in increase().
import type { ResourceKey } from "../api/resources.ts";

export interface GpuObservation {
  readonly key: ResourceKey;
  readonly runId: string;
  readonly gpusPerReplica: number;
  readonly runningReplicas: number;
  /** Epoch milliseconds: now, or when the run finished. */
  readonly at: number;
  /** The run has finished (or is gone): stop accounting it after this. */
  readonly finished: boolean;
}

export class GpuAccounting {
  readonly #last = new Map<ResourceKey, { runId: string; at: number; running: number }>();

  /** GPU-seconds used since the last observation of the same run (0 for a run first seen now). */
  observe(o: GpuObservation): number {
    const last = this.#last.get(o.key);
    let seconds = 0;
    // The replicas running at the last observation ran until this one.
    if (last && last.runId === o.runId && o.at > last.at)
      seconds = ((o.at - last.at) / 1000) * last.running * o.gpusPerReplica;
    if (o.finished) this.#last.delete(o.key);
    else
      this.#last.set(o.key, {
        runId: o.runId,
        at: Math.max(o.at, last?.at ?? 0),
        running: o.runningReplicas,
      });
    return seconds;
  }

  forget(key: ResourceKey): void {
    this.#last.delete(key);
  }
}

// What the TrainingJob kind watches besides its own resources, and what it counts:
// - a stack's new status wakes the jobs that name it (WaitingForStack ends without polling), as
//   controller-runtime's Watches(&Stack, EnqueueRequestsFromMapFunc(jobsForStack));
// - each job's phase transition is reported against the phase recorded before the write (a restart
//   or a rerun with nothing changed reports none).
import type { AnyResource, ResourceKey, TrainingJob } from "../api/resources.ts";
import { keyOf } from "../api/resources.ts";
import type { ResourceIndex } from "../controller/reconcile.ts";

/** The TrainingJobs of the stack's namespace whose spec.stackRef names it. */
export function jobsForStack(resources: ResourceIndex, stack: AnyResource): ResourceKey[] {
  return (resources.list("TrainingJob", stack.metadata.namespace) as TrainingJob[])
    .filter((job) => job.spec.stackRef === stack.metadata.name)
    .map(keyOf);
}

/**
 * Each job's phase transitions, reported once: against the phase this process last wrote for the
 * job, or before its first write against the one its status recorded. The phase written wins over a
 * recorded one because the recorded one can be stale: a Kubernetes watch event from before a status
 * patch can land after the patch's answer. (mlops_trainingjobs is counted at scrape time from the
 * source, observability/metrics.ts.)
 */
export class PhaseTracker {
  /** Each job's last written phase: the string alone, not an object each. */
  readonly #phases = new Map<ResourceKey, string>();

  /**
   * Records `phase` for `job` (whose status held `recorded` before this write) and returns the
   * transition, or undefined when the phase is what it was.
   */
  written(job: AnyResource, recorded: string | undefined, phase: string | undefined) {
    const key = keyOf(job);
    const last = this.#phases.get(key);
    if (phase) this.#phases.set(key, phase);
    else this.#phases.delete(key);
    const before = last ?? recorded;
    return before === phase ? undefined : { from: before, to: phase };
  }

  /** Forgets a job that is gone (finalized), so its map entry goes with it. */
  forget(key: ResourceKey): void {
    this.#phases.delete(key);
  }
}

// What the TrainingJob kind watches besides its own resources, and what it counts:
// - a stack's new status wakes the jobs that name it (WaitingForStack ends without polling), as
//   controller-runtime's Watches(&Stack, EnqueueRequestsFromMapFunc(jobsForStack));
// - each job's phase feeds mlops_trainingjobs{namespace,phase}, and a transition is reported against
//   the phase recorded before the write (a restart or a rerun with nothing changed reports none).
import type { AnyResource, ResourceKey, TrainingJob } from "../api/resources.ts";
import { keyOf } from "../api/resources.ts";
import type { ResourceIndex } from "../controller/reconcile.ts";
import { trainingJobs } from "../observability/metrics.ts";

/** The TrainingJobs of the stack's namespace whose spec.stackRef names it. */
export function jobsForStack(resources: ResourceIndex, stack: AnyResource): ResourceKey[] {
  return (resources.list("TrainingJob", stack.metadata.namespace) as TrainingJob[])
    .filter((job) => job.spec.stackRef === stack.metadata.name)
    .map(keyOf);
}

/** The mlops_trainingjobs gauge, kept from the phases written, and the transitions they make. */
export class PhaseTracker {
  /** Each job's counted phase: the string alone (the namespace is the key's), not an object each. */
  readonly #phases = new Map<ResourceKey, string>();

  /**
   * Records `phase` for `job` (whose status held `recorded` before this write) and returns the
   * transition, or undefined when the phase is what it was.
   */
  written(job: AnyResource, recorded: string | undefined, phase: string | undefined) {
    const key = keyOf(job);
    const counted = this.#phases.get(key);
    if (counted !== phase) {
      const namespace = job.metadata.namespace;
      if (counted !== undefined) trainingJobs.dec({ namespace, phase: counted });
      if (phase) {
        trainingJobs.inc({ namespace, phase });
        this.#phases.set(key, phase);
      } else this.#phases.delete(key);
    }
    const before = counted ?? recorded;
    return before === phase ? undefined : { from: before, to: phase };
  }
}

// What the TrainingJob kind watches besides its own resources:
// - a stack's new status wakes the jobs that name it (WaitingForStack ends without polling), as
//   controller-runtime's Watches(&Stack, EnqueueRequestsFromMapFunc(jobsForStack));
import type { AnyResource, ResourceKey, TrainingJob } from "../api/resources.ts";
import { keyOf } from "../api/resources.ts";
import type { ResourceIndex } from "../controller/reconcile.ts";

/** The TrainingJobs of the stack's namespace whose spec.stackRef names it. */
export function jobsForStack(resources: ResourceIndex, stack: AnyResource): ResourceKey[] {
  return (resources.list("TrainingJob", stack.metadata.namespace) as TrainingJob[])
    .filter((job) => job.spec.stackRef === stack.metadata.name)
    .map(keyOf);
}

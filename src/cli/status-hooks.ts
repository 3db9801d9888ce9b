// The source's status writer, observed by the composition root.
import type { Subject } from "rxjs";
import type { AnyResource, ResourceKey, StatusOf, TrainingJob } from "../api/resources.ts";
import { keyOf } from "../api/resources.ts";
import type { StatusWriter } from "../controller/reconcile.ts";
import type { Source } from "../controller/source.ts";
import { trainingJobs } from "../observability/metrics.ts";

export type PhaseListener = (job: AnyResource, from: string | undefined, to: string | undefined) => void;

/**
 * The source's status writer, observed: a stack's new status requeues the jobs that name it
 * (WaitingForStack ends without polling), and TrainingJob phases feed mlops_trainingjobs.
 */
export function observedWriter(
  source: Source,
  requeue: Subject<ResourceKey>,
  onPhase: PhaseListener | undefined,
): StatusWriter {
  const phases = new Map<ResourceKey, { namespace: string; phase: string }>();
  return {
    async write<R extends AnyResource>(resource: R, status: StatusOf<R>): Promise<void> {
      // The phase recorded before this write (the source attaches the stored status to the resource
      // and replaces it on write): a transition is logged against what was recorded, so a restart
      // or a rerun with nothing changed logs none.
      const recorded = (resource.status as { phase?: string } | undefined)?.phase;
      await source.write(resource, status);
      const key = keyOf(resource);
      if (resource.kind === "MlopsStack") {
        for (const job of source.list("TrainingJob", resource.metadata.namespace) as TrainingJob[]) {
          if (job.spec.stackRef === resource.metadata.name) requeue.next(keyOf(job));
        }
        return;
      }
      const phase = (status as { phase?: string }).phase;
      const counted = phases.get(key);
      if (counted?.phase !== phase) {
        if (counted) trainingJobs.dec({ namespace: counted.namespace, phase: counted.phase });
        if (phase) {
          trainingJobs.inc({ namespace: resource.metadata.namespace, phase });
          phases.set(key, { namespace: resource.metadata.namespace, phase });
        } else phases.delete(key);
      }
      const before = counted?.phase ?? recorded;
      if (before !== phase) onPhase?.({ ...resource, status } as AnyResource, before, phase);
    },
  };
}

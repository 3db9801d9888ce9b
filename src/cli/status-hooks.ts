// The source's status writer, observed by the composition root: it only wires what the kinds
// decide (trainingjob/watches.ts): a stack's new status wakes the jobs naming it, and a job's
// phase transitions feed the gauge and `run`'s progress lines.
import type { Subject } from "rxjs";
import type { AnyResource, ResourceKey, StatusOf } from "../api/resources.ts";
import type { StatusWriter } from "../controller/reconcile.ts";
import type { Source } from "../controller/source.ts";
import { jobsForStack, PhaseTracker } from "../trainingjob/watches.ts";

export type PhaseListener = (job: AnyResource, from: string | undefined, to: string | undefined) => void;

export function observedWriter(
  source: Source,
  requeue: Subject<ResourceKey>,
  onPhase: PhaseListener | undefined,
): StatusWriter {
  const phases = new PhaseTracker();
  return {
    async write<R extends AnyResource>(resource: R, status: StatusOf<R>): Promise<void> {
      // Read before the write: the source replaces the status on the resource it returns.
      const recorded = (resource.status as { phase?: string } | undefined)?.phase;
      await source.write(resource, status);
      if (resource.kind === "MlopsStack") {
        for (const key of jobsForStack(source, resource)) requeue.next(key);
        return;
      }
      if (resource.kind !== "TrainingJob") return;
      const change = phases.written(resource, recorded, (status as { phase?: string }).phase);
      if (change) onPhase?.({ ...resource, status } as AnyResource, change.from, change.to);
    },
  };
}

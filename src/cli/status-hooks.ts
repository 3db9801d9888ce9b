// The source's status writer, observed by the composition root: it only wires what the kinds
// decide (trainingjob/watches.ts, stack/phase.ts): a stack's new status wakes the jobs naming it, a
// job's phase transitions feed `run`'s progress lines, and both kinds' transitions
// (a stack's phase is read from its conditions) go to the listener (notifications).
import type { Subject } from "rxjs";
import {
  type AnyResource,
  keyOf,
  type MlopsStackStatus,
  type ResourceKey,
  type StatusOf,
} from "../api/resources.ts";
import type { StatusWriter } from "../controller/reconcile.ts";
import type { Source } from "../controller/source.ts";
import { type StackPhase, StackPhaseTracker, stackPhase } from "../stack/phase.ts";
import { jobsForStack, PhaseTracker } from "../trainingjob/watches.ts";

export type PhaseListener = (resource: AnyResource, from: string | undefined, to: string | undefined) => void;

export function observedWriter(
  source: Source,
  requeue: Subject<ResourceKey>,
  onPhase: PhaseListener | undefined,
  /** After each write, before the phase is told (shared queue times are recorded here). */
  afterWrite?: (resource: AnyResource, status: unknown) => Promise<void>,
): StatusWriter {
  const phases = new PhaseTracker();
  const stackPhases = new StackPhaseTracker();
  return {
    async write<R extends AnyResource>(resource: R, status: StatusOf<R>): Promise<void> {
      // Read before the write: the source replaces the status on the resource it returns.
      const recorded =
        resource.kind === "MlopsStack"
          ? stackPhase(resource.status)
          : (resource.status as { phase?: string } | undefined)?.phase;
      await source.write(resource, status);
      await afterWrite?.(resource, status);
      if (resource.kind === "MlopsStack") {
        for (const key of jobsForStack(source, resource)) requeue.next(key);
        const change = stackPhases.written(
          keyOf(resource),
          recorded as StackPhase | undefined,
          stackPhase(status as MlopsStackStatus),
        );
        if (change) onPhase?.({ ...resource, status } as AnyResource, change.from, change.to);
        return;
      }
      if (resource.kind !== "TrainingJob") return;
      const change = phases.written(resource, recorded, (status as { phase?: string }).phase);
      if (change) onPhase?.({ ...resource, status } as AnyResource, change.from, change.to);
    },
    forgotten(key: ResourceKey): void {
      phases.forget(key);
      stackPhases.forget(key);
    },
  };
}

// The source's status writer, observed by the composition root: it only wires what the kinds
// decide (trainingjob/watches.ts, stack/phase.ts): a stack's new status wakes the jobs naming it, and
// both kinds' phase transitions (a stack's phase is read from its conditions) go to `run`'s progress
// lines and the listener (notifications).
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
import { stackPhase } from "../stack/phase.ts";
import { jobsForStack } from "../trainingjob/watches.ts";

export type PhaseListener = (resource: AnyResource, from: string | undefined, to: string | undefined) => void;

/**
 * A transition is the phase written against the phase the source holds before the write: its status
 * as last written (every write goes through the source, which keeps it), or as read at start-up (a
 * restart or a rerun with nothing changed reports none). The source's copy, not the resource the
 * reconciler holds: a Kubernetes write's answer replaces the object in the source's table, so a
 * second write from the same reconcile would otherwise compare with the status before the first.
 * The Kubernetes table never goes back to an older version (KubeTable.applyNewer), so no phase needs
 * keeping here per resource.
 */
export function observedWriter(
  source: Source,
  requeue: Subject<ResourceKey>,
  onPhase: PhaseListener | undefined,
  /** After each write, before the phase is told (shared queue times are recorded here). */
  afterWrite?: (resource: AnyResource, status: unknown) => Promise<void>,
): StatusWriter {
  const phaseOf = (resource: AnyResource, status: unknown): string | undefined =>
    resource.kind === "MlopsStack"
      ? stackPhase(status as MlopsStackStatus | undefined)
      : (status as { phase?: string } | undefined)?.phase;
  return {
    async write<R extends AnyResource>(resource: R, status: StatusOf<R>): Promise<void> {
      const phased = resource.kind === "TrainingJob" || resource.kind === "MlopsStack";
      const before = phased ? phaseOf(resource, (source.get(keyOf(resource)) ?? resource).status) : undefined;
      await source.write(resource, status);
      await afterWrite?.(resource, status);
      if (resource.kind === "MlopsStack") for (const key of jobsForStack(source, resource)) requeue.next(key);
      if (!phased) return;
      const after = phaseOf(resource, status);
      if (before !== after) onPhase?.({ ...resource, status } as AnyResource, before, after);
    },
  };
}

// What wakes the MlopsStack reconciler besides its source: Docker events of the containers this
// operator owns (removed, stopped, killed, health changed) become the stack's key; after the event
// stream reconnects (resync) every stack the reconciler knows is looked at again.
import { mergeMap, type Observable, of } from "rxjs";
import type { ResourceKey } from "../api/resources.ts";
import type { DockerEventMessage } from "../clients/docker/index.ts";
import { LABELS } from "./model.ts";

/** The shared Docker event stream (filtered with stackEventFilters) and the owner id it is for. */
export interface StackWatch {
  readonly events: Observable<DockerEventMessage>;
  readonly ownerId: string;
}

/** Label filters for the Docker event stream that feeds the stack's changes. */
export function stackEventFilters(ownerId: string): { type: string[]; label: string[] } {
  return { type: ["container"], label: [`${LABELS.ownerId}=${ownerId}`, LABELS.component] };
}

const DRIFT_ACTIONS = /^(die|destroy|stop|kill|oom|pause|unpause|rename|update|health_status)/;

/** Keys of stacks whose containers drifted; on resync, the keys `known()` returns then. */
export function stackChanges(
  watch: StackWatch | undefined,
  known: () => readonly ResourceKey[],
): Observable<ResourceKey> {
  if (watch === undefined) return of();
  return watch.events.pipe(
    mergeMap((message): readonly ResourceKey[] => {
      if (message.type === "resync") return known();
      if (message.type === "lost") return [];
      const { Action: action, Actor } = message.event;
      const key = Actor.Attributes[LABELS.stack];
      if (!DRIFT_ACTIONS.test(action) || Actor.Attributes[LABELS.ownerId] !== watch.ownerId) return [];
      return key?.startsWith("MlopsStack/") && key.split("/").length === 3 ? [key as ResourceKey] : [];
    }),
  );
}

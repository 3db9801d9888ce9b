// The streams of keys a controller queues, each at its priority (workqueue.ts: higher first). A
// stream's listing, what it gives while it is being subscribed (the directory and Kubernetes sources
// replay every key they know), has a priority of its own: for a plain stream LOW_PRIORITY, as a
// resync's keys, since each of them only may have changed; controller-runtime's priority queue puts
// an informer's initial list at low priority too (handler.WithLowPriorityWhenUnchanged). So after a
// restart over thousands of resources, an edit or a run's end is served before that pass.
import { catchError, EMPTY, map, merge, type Observable, type Subscription } from "rxjs";
import type { ResourceKey } from "../api/resources.ts";
import { LOW_PRIORITY, NORMAL_PRIORITY } from "./workqueue.ts";

/** Keys queued at `priority` (LOW_PRIORITY for work that may wait). */
export interface PrioritizedKeys {
  readonly keys: Observable<ResourceKey>;
  readonly priority: number;
  /** The priority of the keys the stream gives while it is being subscribed. Default: `priority`. */
  readonly listingPriority?: number;
}

/** A plain stream: its changes at NORMAL_PRIORITY, its listing at LOW_PRIORITY. */
export function prioritized(source: Observable<ResourceKey> | PrioritizedKeys): PrioritizedKeys {
  return "priority" in source
    ? source
    : { keys: source, priority: NORMAL_PRIORITY, listingPriority: LOW_PRIORITY };
}

/**
 * Subscribes every stream, each key to `add` at its stream's priority (its listing's until all are
 * subscribed). A stream that errors is reported to `dropped` and ends; the others go on.
 */
export function subscribeKeys(
  sources: readonly PrioritizedKeys[],
  add: (key: ResourceKey, priority: number) => void,
  dropped: (index: number, error: unknown) => void,
): Subscription {
  let listing = true;
  const streams = sources.map(({ keys, priority, listingPriority = priority }, index) =>
    keys.pipe(
      map((key) => [key, listing ? listingPriority : priority] as const),
      catchError((error: unknown) => {
        dropped(index, error);
        return EMPTY;
      }),
    ),
  );
  const subscription = merge(...streams).subscribe(([key, priority]) => add(key, priority));
  listing = false;
  return subscription;
}

// The whole contract a kind implements. A reconciler is `(resource, ctx) => Promise<Action>`:
// idempotent, reconciling from current state (never from the event that woke it), throwing typed
// errors (src/api/errors.ts). Retries are decided in one place: the workqueue.
import type { Logger } from "pino";
import type { AnyResource, Kind, ResourceKey, StatusOf } from "../api/resources.ts";

export type Action = { readonly requeueAfterMs: number } | { readonly awaitChange: true };
export const requeue = (ms: number): Action => ({ requeueAfterMs: Math.max(0, Math.round(ms)) });
export const awaitChange: Action = { awaitChange: true };

/** Writes a resource's status back where the user declared it (state directory or status subresource). */
export interface StatusWriter {
  /** Writes only when the status differs from the stored one, timestamps aside. */
  write<R extends AnyResource>(resource: R, status: StatusOf<R>): Promise<void>;
}

export type EventType = "Normal" | "Warning";

/** Bounded per-resource event log (what `describe` shows), like Kubernetes Events. */
export interface Recorder {
  event(key: ResourceKey, type: EventType, reason: string, message: string): void;
  /**
   * When a finalized resource is forgotten (before its source forgets it): drops what is recorded
   * of it (events still waiting to be written, its log), so nothing of it outlives it.
   */
  forget?(key: ResourceKey): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Read-only view of the other resources of the source (a job looks up its stack; a stack its dependents). */
export interface ResourceIndex {
  get(key: ResourceKey): AnyResource | undefined;
  list(kind: Kind, namespace?: string): AnyResource[];
}

/** The context every reconciler gets; kinds extend it with their own ports. */
export interface BaseContext {
  readonly status: StatusWriter;
  readonly recorder: Recorder;
  readonly clock: Clock;
  readonly log: Logger;
  readonly resources: ResourceIndex;
  /** Set once a resource has been removed from its source: the reconciler cleans up (finalizer). */
  readonly signal?: AbortSignal;
}

export interface Reconciler<R extends AnyResource, C extends BaseContext = BaseContext> {
  readonly kind: R["kind"];
  /** Converges the world to `resource`. Idempotent; returns when to look again. */
  reconcile(resource: R, ctx: C): Promise<Action>;
  /** Called for a resource that is gone from its source (after the prune guards): removes what it owns. */
  finalize(key: ResourceKey, lastKnown: R | undefined, ctx: C): Promise<Action | "done">;
  /**
   * Called after the InvalidSpec status of a resource whose document no longer validates (what it
   * owns is kept): for what depends on it being valid, as a queue's waiting jobs.
   */
  invalid?(key: ResourceKey, lastKnown: R | undefined, ctx: C): void;
}

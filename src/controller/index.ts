// The controller runtime: the reconcile contract, the workqueue and the controller loop.
export type { BackoffOptions } from "./backoff.ts";
export { Backoff, DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_MAX_MS } from "./backoff.ts";
export type {
  ControllerOptions,
  Dispatch,
  ErrorReport,
  Failure,
  IdleSummary,
  StopResult,
} from "./controller.ts";
export { Controller } from "./controller.ts";
export type {
  Action,
  BaseContext,
  Clock,
  EventType,
  Reconciler,
  Recorder,
  ResourceIndex,
  StatusWriter,
} from "./reconcile.ts";
export { awaitChange, requeue, sooner, systemClock } from "./reconcile.ts";
export type { WorkQueueOptions } from "./workqueue.ts";
export { WorkQueue } from "./workqueue.ts";

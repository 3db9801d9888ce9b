export type { NomadSchedulerFactoryOptions } from "./factory.ts";
export { nomadSchedulerFactory } from "./factory.ts";
export { MANAGED_BY, META, ownerFilter, SPEC_HASH_TARGET, specHashConstraint, specHashOf } from "./meta.ts";
export type { NomadView } from "./observe.ts";
export { allocIndex, failureOf, observeRun, placedReplicas, placementMessage, replicaOf } from "./observe.ts";
export type { RenderOptions } from "./render.ts";
export { GROUP, METRICS_PORT, renderConstraint, renderJob, TASK } from "./render.ts";
export type { NomadSchedulerOptions, TrainingJobKey } from "./scheduler.ts";
export { NomadScheduler, NotOwnedError } from "./scheduler.ts";

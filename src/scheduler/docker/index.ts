export type { InspectedContainer, RunMemo } from "./observe.ts";
export { currentRunContainers, isStopMarked, isStoppedByHand, observedFrom, replicaOf } from "./observe.ts";
export type { ContainerSpec, RenderOptions, RestartPolicy } from "./render.ts";
export { labelsFor, nanoCpusOf, renderRun, restartPolicyFor, STOPPED_MARKER_POLICY } from "./render.ts";
export type { DockerSchedulerOptions } from "./scheduler.ts";
export { DockerScheduler, WATCHED_ACTIONS } from "./scheduler.ts";
export type { LimitUpdate, SubmitPlan } from "./submit-plan.ts";
export { isEmptyPlan, planSubmit } from "./submit-plan.ts";

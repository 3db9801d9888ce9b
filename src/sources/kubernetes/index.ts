export type { KubeApi, ListPage, RawMeta, RawObject, WatchEventType } from "./api.ts";
export { ClientKubeApi, KubernetesError, PLURALS, parseStatus } from "./api.ts";
export type { Correlation, CorrelatorOptions, EventInput, ObjectReference } from "./event-correlator.ts";
export {
  DEFAULT_EVENT_CACHE_SIZE,
  DEFAULT_SPAM_BURST,
  DEFAULT_SPAM_REFILL_MS,
  EventCorrelator,
} from "./event-correlator.ts";
export type { EventSink, KubeEventRecorderOptions } from "./events.ts";
export { ClientEventSink, EVENT_COMPONENT, KubeEventRecorder, MAX_QUEUED_EVENTS } from "./events.ts";
export type { KubernetesSourceOptions } from "./factory.ts";
export { kubernetesSource, loadKubeConfig } from "./factory.ts";
export { mergePatchFor } from "./merge-patch.ts";
export type { Observed } from "./objects.ts";
export { FINALIZER, fingerprint, observe } from "./objects.ts";
export { KubernetesSecretReader } from "./secrets.ts";
export type { KubernetesSourceSettings } from "./source.ts";
export { KubernetesSource, ownerIdFor } from "./source.ts";
export type { WatchLoopOptions, WatchPhase } from "./watcher.ts";
export { WatchLoop } from "./watcher.ts";

// Server: Kubernetes 1.32 API server, kubernetes/kubernetes. Follows: see each module's header.
export type { StoredEvent as StoredKubeEvent } from "./events.ts";
export { EventStore } from "./events.ts";
export type { KubeHarness } from "./harness.ts";
export { mlopsStack, startHarness, trainingJob, until } from "./harness.ts";
export { pluralOf } from "./http.ts";
export { kubeconfigYaml, writeKubeconfig } from "./kubeconfig.ts";
export { applyMergePatch } from "./merge-patch.ts";
export type { KubernetesDoubleOptions, RecordedRequest } from "./server.ts";
export { KubernetesDouble } from "./server.ts";
export type { EventType, KubeObject, StoredEvent } from "./state.ts";
export { ApiFailure, KubeState, RESOURCES, statusObject } from "./state.ts";
export type { WatchRequest, WatchStream } from "./watch.ts";

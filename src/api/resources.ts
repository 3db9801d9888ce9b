// The two resource kinds as plain data, shaped like Kubernetes objects (group mlops.dev, v1alpha1).
import type {
  MlopsStackSpec,
  MlopsStackStatus,
  NotifierSpec,
  NotifierStatus,
  TrainingJobSpec,
  TrainingJobStatus,
  TrainingQueueSpec,
  TrainingQueueStatus,
} from "./generated/types.ts";
import { liveKeys } from "./keys.ts";

export const GROUP = "mlops.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;
export const DEFAULT_NAMESPACE = "default";

/** The resource kinds; each has its entry in the kind registry (kinds.ts). */
export type Kind = "TrainingJob" | "MlopsStack" | "Notifier" | "TrainingQueue";

export interface ObjectMeta {
  name: string;
  namespace: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Increases on each spec change: a counter in the state directory, or the API server's. */
  generation: number;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
}

export interface Resource<K extends Kind, Spec, Status> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

export type TrainingJob = Resource<"TrainingJob", TrainingJobSpec, TrainingJobStatus>;
export type MlopsStack = Resource<"MlopsStack", MlopsStackSpec, MlopsStackStatus>;
export type Notifier = Resource<"Notifier", NotifierSpec, NotifierStatus>;
export type TrainingQueue = Resource<"TrainingQueue", TrainingQueueSpec, TrainingQueueStatus>;
export type AnyResource = TrainingJob | MlopsStack | Notifier | TrainingQueue;
export type StatusOf<R extends AnyResource> = NonNullable<R["status"]>;

export type {
  MlopsStackSpec,
  MlopsStackStatus,
  NotifierSpec,
  NotifierStatus,
  TrainingJobSpec,
  TrainingJobStatus,
  TrainingQueueSpec,
  TrainingQueueStatus,
};

/** `kind/namespace/name`: what the workqueue carries (never a payload). */
export type ResourceKey = `${Kind}/${string}/${string}`;

export interface KeyParts {
  kind: Kind;
  namespace: string;
  name: string;
}

export function keyOf(resource: { kind: Kind; metadata: { namespace: string; name: string } }): ResourceKey {
  return makeKey(resource.kind, resource.metadata.namespace, resource.metadata.name);
}

/**
 * By `join`, not a template: V8 makes `a + b` of 13 characters or more a rope (a cons string, 32 B
 * per join, kept with its parts), and keys live in a dozen maps per resource. `join` writes one flat
 * string (48 B for `TrainingJob/team-a/job-1234`, against ~120 B as a rope), hashed and compared
 * faster as a map key. The string of a live resource's key is held once (keys.ts): every map holds
 * that one.
 */
export function makeKey(kind: Kind, namespace: string, name: string): ResourceKey {
  return liveKeys.canonical([kind, namespace, name].join("/") as ResourceKey);
}

export function parseKey(key: ResourceKey): KeyParts {
  const [kind, namespace, name] = key.split("/") as [Kind, string, string];
  return { kind, namespace, name };
}

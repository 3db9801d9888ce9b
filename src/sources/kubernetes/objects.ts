// From a custom object as the API server sends it to what the source keeps: the validated resource
// (the same strict rules as files: the server prunes unknown fields only when the CRD asks it to, so
// validate again) or an InvalidSpecError naming `namespace/name: path: message`, plus the server's
// bookkeeping (uid, resourceVersion, generation as is, finalizers, deletionTimestamp). Pure.
import { formatIssues, InvalidSpecError } from "../../api/errors.ts";
import { type AnyResource, type Kind, makeKey, type ResourceKey } from "../../api/resources.ts";
import { validateDocument } from "../../api/validate.ts";
import type { RawObject } from "./api.ts";

/** The finalizer that keeps an object until the operator has cleaned up what it made for it. */
export const FINALIZER = "mlops.dev/cleanup";

export interface Observed {
  readonly key: ResourceKey;
  readonly uid: string | undefined;
  readonly resourceVersion: string | undefined;
  readonly generation: number;
  /** deletionTimestamp is set: Kubernetes is deleting it, finalizers hold it. */
  readonly deleting: boolean;
  readonly finalizers: readonly string[];
  readonly status: unknown;
  /** The resource with its server metadata and status, when valid. */
  readonly resource?: AnyResource;
  readonly error?: InvalidSpecError;
}

/** metadata users declare (what the schema validates); the rest belongs to the API server. */
const USER_METADATA = ["name", "namespace", "labels", "annotations", "generation"] as const;

export function observe(kind: Kind, raw: RawObject): Observed {
  const meta = raw.metadata;
  const namespace = meta.namespace;
  const key = makeKey(kind, namespace, meta.name);
  const generation = typeof meta.generation === "number" ? meta.generation : 0;
  const base = {
    key,
    uid: meta.uid,
    resourceVersion: meta.resourceVersion,
    generation,
    deleting: typeof meta.deletionTimestamp === "string" && meta.deletionTimestamp !== "",
    finalizers: Array.isArray(meta.finalizers) ? meta.finalizers : [],
    status: raw.status,
  };
  const { status: _status, metadata: _metadata, ...document } = raw;
  const userMeta: Record<string, unknown> = {};
  for (const field of USER_METADATA) if (meta[field] !== undefined) userMeta[field] = meta[field];
  const validation = validateDocument({ ...document, metadata: userMeta });
  if (!validation.ok) {
    const issues = validation.issues;
    return {
      ...base,
      error: new InvalidSpecError(issues, `${namespace}/${meta.name}: ${formatIssues(issues)}`),
    };
  }
  if (validation.resource.kind !== kind) {
    const issue = { path: ["kind"], message: `must be ${kind} (the object is served as ${kind})` };
    return {
      ...base,
      error: new InvalidSpecError([issue], `${namespace}/${meta.name}: ${formatIssues([issue])}`),
    };
  }
  const resource = validation.resource;
  resource.metadata = {
    ...resource.metadata,
    generation,
    ...(meta.uid ? { uid: meta.uid } : {}),
    ...(meta.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}),
    ...(meta.creationTimestamp ? { creationTimestamp: meta.creationTimestamp } : {}),
  };
  if (isObject(raw.status)) (resource as { status?: unknown }).status = raw.status;
  return { ...base, resource };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * What a change notification is about, for deduplication: the lookup state and what reconcilers
 * act on (generation, labels, annotations), never status or resourceVersion (our own writes).
 */
export function fingerprint(observed: Observed, gone: boolean): string {
  if (gone || observed.deleting) return `d:${observed.uid}`;
  if (observed.error) return `i:${observed.uid}:${observed.error.message}`;
  const meta = observed.resource?.metadata;
  return `p:${observed.uid}:${observed.generation}:${JSON.stringify([meta?.labels, meta?.annotations])}`;
}

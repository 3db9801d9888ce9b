// Server: Kubernetes 1.32 API server, kubernetes/kubernetes. Follows:
// staging/src/k8s.io/apiextensions-apiserver/pkg/registry/customresource/strategy.go (generation, status),
// staging/src/k8s.io/apiserver/pkg/storage/cacher/watch_cache.go (410 Expired).
// What the Kubernetes API double stores: custom objects of the mlops.dev/v1alpha1 resources, one
// resourceVersion counter for all (as etcd's revision), and a small window of watch events: a watch
// from a version older than the window is answered "410 Gone" (reason Expired), as the API server's
// watch cache does. Semantics follow the API server: spec changes bump metadata.generation, status
// and metadata changes do not; the main resource ignores status, /status changes only status;
// a stale metadata.resourceVersion is a 409 Conflict; deleting an object with finalizers only sets
// deletionTimestamp, and it goes once the last finalizer is removed.
import { randomUUID } from "node:crypto";
import { applyMergePatch } from "./merge-patch.ts";

export const GROUP = "mlops.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** The custom resources the double serves: plural → kind. */
export const RESOURCES: Readonly<Record<string, string>> = {
  trainingjobs: "TrainingJob",
  mlopsstacks: "MlopsStack",
  notifiers: "Notifier",
  trainingqueues: "TrainingQueue",
};

/** The metadata every stored object of the double has (ObjectMeta's server-set fields and its name). */
export interface StoredMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
}

export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: StoredMeta & {
    generation: number;
    deletionTimestamp?: string;
    finalizers?: string[];
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  spec?: unknown;
  status?: unknown;
  [key: string]: unknown;
};

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoredEvent {
  readonly rv: number;
  readonly plural: string;
  readonly type: EventType;
  readonly object: KubeObject;
}

/** A failure the routes turn into a Status object. */
export class ApiFailure extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: number, reason: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }
}

export class KubeState {
  #rv = 100;
  readonly #objects = new Map<string, Map<string, KubeObject>>();
  readonly #events: StoredEvent[] = [];
  readonly #listeners = new Set<(event: StoredEvent) => void>();
  /** How many events are kept for watches that resume (the API server's watch cache). */
  eventWindow: number;
  /** Writes (create, update, patch, delete) by "METHOD plural[/status]". */
  readonly writes = new Map<string, number>();

  constructor(options: { eventWindow?: number } = {}) {
    this.eventWindow = options.eventWindow ?? 50;
    for (const plural of Object.keys(RESOURCES)) this.#objects.set(plural, new Map());
  }

  get resourceVersion(): string {
    return String(this.#rv);
  }

  /** The oldest resourceVersion a watch may resume from without a 410. */
  get oldestResumable(): number {
    const first = this.#events[0];
    return first ? first.rv - 1 : this.#rv;
  }

  onEvent(listener: (event: StoredEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Events after `rv`, or "gone" when the window no longer reaches back that far. */
  eventsSince(plural: string, rv: number): StoredEvent[] | "gone" {
    if (rv < this.oldestResumable) return "gone";
    return this.#events.filter((e) => e.rv > rv && e.plural === plural);
  }

  /** Drops the event window (an etcd compaction): every older watch version becomes 410 Gone. */
  compact(): void {
    this.#events.length = 0;
  }

  list(plural: string, namespace?: string): KubeObject[] {
    const all = [...this.#table(plural).values()];
    return (namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace))
      .sort((a, b) =>
        `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(
          `${b.metadata.namespace}/${b.metadata.name}`,
        ),
      )
      .map((o) => structuredClone(o));
  }

  get(plural: string, namespace: string, name: string): KubeObject {
    const found = this.#table(plural).get(`${namespace}/${name}`);
    if (!found) throw notFound(plural, name);
    return structuredClone(found);
  }

  create(plural: string, namespace: string, body: Record<string, unknown>): KubeObject {
    const meta = (body.metadata ?? {}) as Record<string, unknown>;
    const name = meta.name;
    if (typeof name !== "string" || name === "") {
      throw new ApiFailure(
        422,
        "Invalid",
        `${RESOURCES[plural]}.${GROUP} is invalid: metadata.name: Required value`,
      );
    }
    const table = this.#table(plural);
    if (table.has(`${namespace}/${name}`)) {
      throw new ApiFailure(409, "AlreadyExists", `${plural}.${GROUP} "${name}" already exists`, {
        name,
        group: GROUP,
        kind: plural,
      });
    }
    const { status: _ignored, ...rest } = body;
    const object = {
      ...rest,
      apiVersion: API_VERSION,
      kind: RESOURCES[plural] as string,
      metadata: {
        ...meta,
        name,
        namespace,
        uid: randomUUID(),
        generation: 1,
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
        resourceVersion: "",
      },
    } as KubeObject;
    delete object.metadata.deletionTimestamp;
    return this.#commit(plural, "ADDED", object);
  }

  /** PUT of the main resource: spec and metadata (status is ignored: it has a subresource). */
  replace(plural: string, namespace: string, name: string, body: Record<string, unknown>): KubeObject {
    const current = this.get(plural, namespace, name);
    checkVersion(plural, name, current, body);
    const meta = (body.metadata ?? {}) as Record<string, unknown>;
    const next = { ...body } as KubeObject;
    if (current.status === undefined) delete next.status;
    else next.status = current.status;
    next.metadata = pickUserMeta(meta) as KubeObject["metadata"];
    return this.#update(plural, current, next);
  }

  /** PATCH (merge) of the main resource: status in the patch is ignored. */
  patch(plural: string, namespace: string, name: string, patch: unknown): KubeObject {
    const current = this.get(plural, namespace, name);
    checkVersion(plural, name, current, patch);
    const merged = applyMergePatch(current, patch) as KubeObject;
    if (current.status === undefined) delete merged.status;
    else merged.status = current.status;
    return this.#update(plural, current, merged);
  }

  /** PUT or PATCH of /status: only status changes. */
  writeStatus(plural: string, namespace: string, name: string, body: unknown, merge: boolean): KubeObject {
    const current = this.get(plural, namespace, name);
    checkVersion(plural, name, current, body);
    const status = merge
      ? (applyMergePatch(current, body) as KubeObject).status
      : (body as { status?: unknown }).status;
    const next = structuredClone(current);
    if (status === undefined) delete next.status;
    else next.status = status;
    return this.#update(plural, current, next);
  }

  /** DELETE: with finalizers, only marks the object; without, removes it. */
  delete(plural: string, namespace: string, name: string): KubeObject | "deleted" {
    const current = this.get(plural, namespace, name);
    if ((current.metadata.finalizers ?? []).length === 0) {
      this.#table(plural).delete(`${namespace}/${name}`);
      this.#commit(plural, "DELETED", current, false);
      return "deleted";
    }
    if (current.metadata.deletionTimestamp) return current;
    const next = structuredClone(current);
    next.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    return this.#commit(plural, "MODIFIED", next);
  }

  #update(plural: string, current: KubeObject, next: KubeObject): KubeObject {
    next.apiVersion = current.apiVersion;
    next.kind = current.kind;
    for (const key of ["name", "namespace", "uid", "creationTimestamp", "deletionTimestamp"] as const) {
      if (current.metadata[key] === undefined) delete next.metadata[key];
      else (next.metadata as Record<string, unknown>)[key] = current.metadata[key];
    }
    next.metadata.generation = current.metadata.generation;
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    if (canonical(next) === canonical(current)) return current; // a no-op write: no new version
    const { metadata: _m1, status: _s1, ...rest1 } = current;
    const { metadata: _m2, status: _s2, ...rest2 } = next;
    if (canonical(rest1) !== canonical(rest2)) next.metadata.generation += 1;
    const finalizers = next.metadata.finalizers ?? [];
    if (next.metadata.deletionTimestamp && finalizers.length === 0) {
      this.#table(plural).delete(`${next.metadata.namespace}/${next.metadata.name}`);
      return this.#commit(plural, "DELETED", next, false);
    }
    return this.#commit(plural, "MODIFIED", next);
  }

  #commit(plural: string, type: EventType, object: KubeObject, store = true): KubeObject {
    this.#rv += 1;
    object.metadata.resourceVersion = String(this.#rv);
    if (store) this.#table(plural).set(`${object.metadata.namespace}/${object.metadata.name}`, object);
    const event: StoredEvent = { rv: this.#rv, plural, type, object: structuredClone(object) };
    this.#events.push(event);
    while (this.#events.length > this.eventWindow) this.#events.shift();
    for (const listener of this.#listeners) listener(event);
    return structuredClone(object);
  }

  #table(plural: string): Map<string, KubeObject> {
    const table = this.#objects.get(plural);
    if (!table) throw new ApiFailure(404, "NotFound", "the server could not find the requested resource");
    return table;
  }
}

/** Errors as the API server sends them: a v1 Status object with the HTTP code inside. */
export function statusObject(failure: ApiFailure): Record<string, unknown> {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: failure.message,
    reason: failure.reason,
    ...(failure.details ? { details: failure.details } : {}),
    code: failure.code,
  };
}

export function notFound(plural: string, name: string): ApiFailure {
  return new ApiFailure(404, "NotFound", `${plural}.${GROUP} "${name}" not found`, {
    name,
    group: GROUP,
    kind: plural,
  });
}

/** metadata fields users may change (the rest belongs to the API server). */
function pickUserMeta(meta: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ["labels", "annotations", "finalizers", "ownerReferences"]) {
    if (meta[key] !== undefined) out[key] = meta[key];
  }
  return out;
}

/** A body carrying metadata.resourceVersion is a precondition: it must be the current one. */
function checkVersion(plural: string, name: string, current: KubeObject, body: unknown): void {
  const rv = (body as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
  if (rv === undefined || rv === null || rv === "") return;
  if (String(rv) !== current.metadata.resourceVersion) {
    throw new ApiFailure(
      409,
      "Conflict",
      `Operation cannot be fulfilled on ${plural}.${GROUP} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      { name, group: GROUP, kind: plural },
    );
  }
}

/** JSON with sorted keys: equal values give equal strings whatever the key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

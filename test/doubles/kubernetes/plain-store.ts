// Server: Kubernetes 1.32 API server, kubernetes/kubernetes. Follows:
// staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go (create of an existing name:
// 409 AlreadyExists; update with a stale metadata.resourceVersion: 409 Conflict "the object has been
// modified"; update without one: unconditional; update of a missing object: 404),
// staging/src/k8s.io/apimachinery/pkg/api/errors (Status details {name, group, kind}).
// A plain namespaced object in the Kubernetes double (no status subresource, no watch): list, GET,
// POST, PUT. What each kind keeps of a body, and what it refuses, is the kind's (leases.ts,
// configmaps.ts).
import { randomUUID } from "node:crypto";
import { ApiFailure, type StoredMeta } from "./state.ts";

export interface PlainObject {
  apiVersion: string;
  kind: string;
  metadata: StoredMeta & { labels?: Record<string, string> };
}

export interface PlainKind<T extends PlainObject> {
  readonly apiVersion: T["apiVersion"];
  readonly kind: T["kind"];
  /** The resource's plural (`leases`). */
  readonly plural: string;
  /** Empty for the core group. */
  readonly group: string;
  /** The first resourceVersion handed out, less one. */
  readonly firstVersion: number;
  /** The fields of a body the object keeps (besides metadata). */
  readonly fields: (body: Partial<T>) => Omit<T, "apiVersion" | "kind" | "metadata">;
  /** Refuses a body (an ApiFailure) before it is stored. */
  readonly validate?: (name: string, body: Partial<T>) => void;
}

export class PlainStore<T extends PlainObject> {
  readonly #objects = new Map<string, T>();
  readonly #kind: PlainKind<T>;
  readonly #path: RegExp;
  /** Writes by verb, for tests. */
  readonly writes = { create: 0, update: 0, conflicts: 0 };
  #version: number;

  constructor(kind: PlainKind<T>) {
    this.#kind = kind;
    this.#version = kind.firstVersion;
    const prefix = kind.group === "" ? "/api/v1" : `/apis/${kind.group.replaceAll(".", "\\.")}/v1`;
    this.#path = new RegExp(`^${prefix}/namespaces/([^/]+)/${kind.plural}(?:/([^/]+))?$`);
  }

  get(namespace: string, name: string): T | undefined {
    return this.#objects.get(`${namespace}/${name}`);
  }

  /** The answer for a path of this kind, or undefined when the path is not one. */
  route(method: string, path: string, body: unknown): { code: number; body: unknown } | undefined {
    const m = this.#path.exec(path);
    if (!m) return undefined;
    const { plural, group, kind } = this.#kind;
    const namespace = decodeURIComponent(m[1] as string);
    const name = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    const object = (body ?? {}) as Partial<T>;
    const qualified = group === "" ? plural : `${plural}.${group}`;
    const details = (n: string) => ({ name: n, ...(group === "" ? {} : { group }), kind: plural });
    if (name === undefined) {
      if (method === "GET") {
        const items = [...this.#objects.values()].filter((o) => o.metadata.namespace === namespace);
        const listKind = `${kind}List`;
        return {
          code: 200,
          body: { kind: listKind, apiVersion: this.#kind.apiVersion, metadata: {}, items },
        };
      }
      if (method !== "POST")
        throw new ApiFailure(405, "MethodNotAllowed", `${method} is not supported on ${plural}`);
      const wanted = object.metadata?.name;
      if (!wanted) {
        const qualifiedKind = group === "" ? kind : `${kind}.${group}`;
        throw new ApiFailure(422, "Invalid", `${qualifiedKind} is invalid: metadata.name: Required value`);
      }
      if (this.get(namespace, wanted))
        throw new ApiFailure(
          409,
          "AlreadyExists",
          `${qualified} "${wanted}" already exists`,
          details(wanted),
        );
      this.#kind.validate?.(wanted, object);
      this.writes.create++;
      return { code: 201, body: this.#store(namespace, wanted, object) };
    }
    const current = this.get(namespace, name);
    if (!current) throw new ApiFailure(404, "NotFound", `${qualified} "${name}" not found`, details(name));
    if (method === "GET") return { code: 200, body: current };
    if (method !== "PUT")
      throw new ApiFailure(405, "MethodNotAllowed", `${method} is not supported on a ${kind.toLowerCase()}`);
    const version = object.metadata?.resourceVersion;
    if (version !== undefined && version !== "" && version !== current.metadata.resourceVersion) {
      this.writes.conflicts++;
      throw new ApiFailure(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${qualified} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        details(name),
      );
    }
    this.#kind.validate?.(name, object);
    this.writes.update++;
    return { code: 200, body: this.#store(namespace, name, object, current) };
  }

  #store(namespace: string, name: string, object: Partial<T>, current?: T): T {
    const labels = object.metadata?.labels;
    const stored = {
      apiVersion: this.#kind.apiVersion,
      kind: this.#kind.kind,
      metadata: {
        name,
        namespace,
        uid: current?.metadata.uid ?? randomUUID(),
        resourceVersion: String(++this.#version),
        creationTimestamp: current?.metadata.creationTimestamp ?? new Date().toISOString(),
        ...(labels ? { labels: { ...labels } } : {}),
      },
      ...this.#kind.fields(object),
    } as T;
    this.#objects.set(`${namespace}/${name}`, stored);
    return stored;
  }
}

// Server: Kubernetes 1.32 API server, kubernetes/kubernetes. Follows: pkg/registry/core/configmap
// (a plain namespaced object), pkg/apis/core/validation/validation.go ValidateConfigMap (data and
// binaryData together at most core.MaxSecretSize, 1 MiB: 422 "Too long: must have at most 1048576
// bytes"), staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go (create of an
// existing name: 409 AlreadyExists; update with a stale metadata.resourceVersion: 409 Conflict;
// update of a missing object: 404).
// core/v1 ConfigMaps in the Kubernetes double: GET, POST, PUT.
import { randomUUID } from "node:crypto";
import { ApiFailure } from "./state.ts";

const PATH = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps(?:\/([^/]+))?$/;
const MAX_BYTES = 1024 * 1024;

export interface ConfigMap {
  apiVersion: "v1";
  kind: "ConfigMap";
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    labels?: Record<string, string>;
  };
  data?: Record<string, string>;
}

export class ConfigMapStore {
  readonly #maps = new Map<string, ConfigMap>();
  /** Writes by verb, for tests. */
  readonly writes = { create: 0, update: 0, conflicts: 0 };
  #version = 5000;

  get(namespace: string, name: string): ConfigMap | undefined {
    return this.#maps.get(`${namespace}/${name}`);
  }

  /** The answer for a ConfigMap path, or undefined when the path is not a ConfigMap's. */
  route(method: string, path: string, body: unknown): { code: number; body: unknown } | undefined {
    const m = PATH.exec(path);
    if (!m) return undefined;
    const namespace = decodeURIComponent(m[1] as string);
    const name = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    const object = (body ?? {}) as Partial<ConfigMap>;
    const details = (n: string) => ({ name: n, kind: "configmaps" });
    if (name === undefined) {
      if (method !== "POST")
        throw new ApiFailure(405, "MethodNotAllowed", `${method} is not supported on configmaps`);
      const wanted = object.metadata?.name;
      if (!wanted)
        throw new ApiFailure(422, "Invalid", "ConfigMap is invalid: metadata.name: Required value");
      if (this.get(namespace, wanted))
        throw new ApiFailure(409, "AlreadyExists", `configmaps "${wanted}" already exists`, details(wanted));
      checkSize(wanted, object.data);
      this.writes.create++;
      return { code: 201, body: this.#store(namespace, wanted, object) };
    }
    const current = this.get(namespace, name);
    if (!current) throw new ApiFailure(404, "NotFound", `configmaps "${name}" not found`, details(name));
    if (method === "GET") return { code: 200, body: current };
    if (method !== "PUT")
      throw new ApiFailure(405, "MethodNotAllowed", `${method} is not supported on a configmap`);
    const version = object.metadata?.resourceVersion;
    if (version !== undefined && version !== "" && version !== current.metadata.resourceVersion) {
      this.writes.conflicts++;
      throw new ApiFailure(
        409,
        "Conflict",
        `Operation cannot be fulfilled on configmaps "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        details(name),
      );
    }
    checkSize(name, object.data);
    this.writes.update++;
    return { code: 200, body: this.#store(namespace, name, object, current) };
  }

  #store(namespace: string, name: string, object: Partial<ConfigMap>, current?: ConfigMap): ConfigMap {
    const map: ConfigMap = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name,
        namespace,
        uid: current?.metadata.uid ?? randomUUID(),
        resourceVersion: String(++this.#version),
        creationTimestamp: current?.metadata.creationTimestamp ?? new Date().toISOString(),
        ...(object.metadata?.labels ? { labels: { ...object.metadata.labels } } : {}),
      },
      ...(object.data ? { data: { ...object.data } } : {}),
    };
    this.#maps.set(`${namespace}/${name}`, map);
    return map;
  }
}

function checkSize(name: string, data: Record<string, string> | undefined): void {
  let bytes = 0;
  for (const [key, value] of Object.entries(data ?? {}))
    bytes += key.length + Buffer.byteLength(value, "utf8");
  if (bytes > MAX_BYTES)
    throw new ApiFailure(
      422,
      "Invalid",
      `ConfigMap "${name}" is invalid: []: Too long: must have at most ${MAX_BYTES} bytes`,
    );
}

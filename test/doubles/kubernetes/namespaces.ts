// Server: Kubernetes 1.32 API server, kubernetes/kubernetes. Follows: pkg/registry/core/namespace
// (GET /api/v1/namespaces/{name}; kube-system exists from cluster creation with a UID that never
// changes, which is why tools take it as the cluster's identity), staging/src/k8s.io/apimachinery/
// pkg/api/errors (NewNotFound). Core v1 Namespaces in the Kubernetes double: GET one only.
import { randomUUID } from "node:crypto";
import { ApiFailure } from "./state.ts";

const PATH = /^\/api\/v1\/namespaces\/([^/]+)$/;

export class NamespaceStore {
  readonly #uids = new Map<string, string>([
    ["default", randomUUID()],
    ["kube-system", randomUUID()],
  ]);

  uid(name: string): string | undefined {
    return this.#uids.get(name);
  }

  add(name: string): string {
    const uid = randomUUID();
    this.#uids.set(name, uid);
    return uid;
  }

  /** The answer for GET /api/v1/namespaces/{name}, or undefined for other paths. */
  route(method: string, path: string): { code: number; body: unknown } | undefined {
    const m = PATH.exec(path);
    if (!m) return undefined;
    const name = decodeURIComponent(m[1] as string);
    if (method !== "GET")
      throw new ApiFailure(405, "MethodNotAllowed", `${method} is not supported on namespaces`);
    const uid = this.#uids.get(name);
    if (!uid)
      throw new ApiFailure(404, "NotFound", `namespaces "${name}" not found`, { name, kind: "namespaces" });
    return {
      code: 200,
      body: {
        kind: "Namespace",
        apiVersion: "v1",
        metadata: { name, uid, resourceVersion: "1", labels: { "kubernetes.io/metadata.name": name } },
        spec: { finalizers: ["kubernetes"] },
        status: { phase: "Active" },
      },
    };
  }
}

// Core v1 Secrets in the Kubernetes double: GET /api/v1/namespaces/{ns}/secrets/{name} only, as the
// API server answers it (data base64-encoded, type Opaque; a missing Secret is a 404 Status with
// reason NotFound and details {name, kind: "secrets"}, staging/src/k8s.io/apimachinery/pkg/api/errors
// NewNotFound). Tests put Secrets with put(); nothing else of the core API is served.
import { randomUUID } from "node:crypto";
import { ApiFailure } from "./state.ts";

const PATH = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/;

export interface SecretObject {
  apiVersion: "v1";
  kind: "Secret";
  metadata: { name: string; namespace: string; uid: string; resourceVersion: string };
  type: "Opaque";
  data: Record<string, string>;
}

export class SecretStore {
  readonly #secrets = new Map<string, SecretObject>();
  #rv = 1;

  /** Stores a Secret with these (plain) values, encoded as the API server keeps them. */
  put(namespace: string, name: string, values: Readonly<Record<string, string>>): void {
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) data[k] = Buffer.from(v, "utf8").toString("base64");
    this.#secrets.set(`${namespace}/${name}`, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace, uid: randomUUID(), resourceVersion: String(this.#rv++) },
      type: "Opaque",
      data,
    });
  }

  delete(namespace: string, name: string): void {
    this.#secrets.delete(`${namespace}/${name}`);
  }

  /** The answer for a path under /api/v1, or undefined when the path is not a Secret's. */
  route(method: string, path: string): { code: number; body: SecretObject } | undefined {
    const match = PATH.exec(path);
    if (!match) return undefined;
    const namespace = decodeURIComponent(match[1] ?? "");
    const name = decodeURIComponent(match[2] ?? "");
    if (method !== "GET")
      throw new ApiFailure(405, "MethodNotAllowed", `${method} is not supported on secrets`);
    const found = this.#secrets.get(`${namespace}/${name}`);
    if (!found)
      throw new ApiFailure(404, "NotFound", `secrets "${name}" not found`, { name, kind: "secrets" });
    return { code: 200, body: structuredClone(found) };
  }
}

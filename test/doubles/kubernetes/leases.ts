// Server: Kubernetes 1.32 API server, kubernetes/kubernetes. Follows: pkg/registry/coordination/lease
// (a plain namespaced object: no status subresource), staging/src/k8s.io/apiserver/pkg/registry/
// generic/registry/store.go (create of an existing name: 409 AlreadyExists; update with a stale
// metadata.resourceVersion: 409 Conflict "the object has been modified"; update without one:
// unconditional), staging/src/k8s.io/apimachinery/pkg/api/errors (Status details {name, group, kind}).
// coordination.k8s.io/v1 Leases in the Kubernetes double: GET, POST, PUT. The API server never
// expires a Lease: candidates judge expiry from spec.renewTime and spec.leaseDurationSeconds.
import { randomUUID } from "node:crypto";
import { ApiFailure } from "./state.ts";

const PATH = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/;
const GROUP = "coordination.k8s.io";

export interface Lease {
  apiVersion: "coordination.k8s.io/v1";
  kind: "Lease";
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
  };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export class LeaseStore {
  readonly #leases = new Map<string, Lease>();
  /** Writes by verb, for tests. */
  readonly writes = { create: 0, update: 0, conflicts: 0 };
  #version = 1;

  get(namespace: string, name: string): Lease | undefined {
    return this.#leases.get(`${namespace}/${name}`);
  }

  /** The answer for a Lease path, or undefined when the path is not a Lease's. */
  route(method: string, path: string, body: unknown): { code: number; body: unknown } | undefined {
    const m = PATH.exec(path);
    if (!m) return undefined;
    const namespace = decodeURIComponent(m[1] as string);
    const name = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    const object = (body ?? {}) as Partial<Lease>;
    if (name === undefined) {
      if (method === "GET") {
        const items = [...this.#leases.values()].filter((l) => l.metadata.namespace === namespace);
        return {
          code: 200,
          body: { kind: "LeaseList", apiVersion: "coordination.k8s.io/v1", metadata: {}, items },
        };
      }
      if (method !== "POST")
        throw new ApiFailure(405, "MethodNotAllowed", `${method} is not supported on leases`);
      const wanted = object.metadata?.name;
      if (!wanted)
        throw new ApiFailure(
          422,
          "Invalid",
          "Lease.coordination.k8s.io is invalid: metadata.name: Required value",
        );
      if (this.get(namespace, wanted)) {
        throw new ApiFailure(409, "AlreadyExists", `leases.${GROUP} "${wanted}" already exists`, {
          name: wanted,
          group: GROUP,
          kind: "leases",
        });
      }
      this.writes.create++;
      return { code: 201, body: this.#store(namespace, wanted, object.spec ?? {}) };
    }
    const current = this.get(namespace, name);
    if (!current) {
      throw new ApiFailure(404, "NotFound", `leases.${GROUP} "${name}" not found`, {
        name,
        group: GROUP,
        kind: "leases",
      });
    }
    if (method === "GET") return { code: 200, body: current };
    if (method !== "PUT")
      throw new ApiFailure(405, "MethodNotAllowed", `${method} is not supported on a lease`);
    const version = object.metadata?.resourceVersion;
    if (version !== undefined && version !== "" && version !== current.metadata.resourceVersion) {
      this.writes.conflicts++;
      throw new ApiFailure(
        409,
        "Conflict",
        `Operation cannot be fulfilled on leases.${GROUP} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name, group: GROUP, kind: "leases" },
      );
    }
    this.writes.update++;
    return { code: 200, body: this.#store(namespace, name, object.spec ?? {}, current) };
  }

  #store(namespace: string, name: string, spec: Lease["spec"], current?: Lease): Lease {
    const lease: Lease = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        name,
        namespace,
        uid: current?.metadata.uid ?? randomUUID(),
        resourceVersion: String(++this.#version),
        creationTimestamp: current?.metadata.creationTimestamp ?? new Date().toISOString(),
      },
      spec: { ...spec },
    };
    this.#leases.set(`${namespace}/${name}`, lease);
    return lease;
  }
}

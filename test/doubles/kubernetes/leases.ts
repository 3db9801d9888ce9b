// Server: Kubernetes 1.32 API server, kubernetes/kubernetes. Follows: pkg/registry/coordination/lease
// (a plain namespaced object: no status subresource; the store's rules in plain-store.ts).
// coordination.k8s.io/v1 Leases in the Kubernetes double: list, GET, POST, PUT. The API server never
// expires a Lease: candidates judge expiry from spec.renewTime and spec.leaseDurationSeconds.
import { type PlainObject, PlainStore } from "./plain-store.ts";

export interface Lease extends PlainObject {
  apiVersion: "coordination.k8s.io/v1";
  kind: "Lease";
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export class LeaseStore extends PlainStore<Lease> {
  constructor() {
    super({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      plural: "leases",
      group: "coordination.k8s.io",
      firstVersion: 1,
      fields: (body) => ({ spec: { ...(body.spec ?? {}) } }),
    });
  }
}

// Server: Kubernetes 1.32 API server, kubernetes/kubernetes. Follows: pkg/registry/core/configmap
// (a plain namespaced object; the store's rules in plain-store.ts), pkg/apis/core/validation/
// validation.go ValidateConfigMap (data and binaryData together at most core.MaxSecretSize, 1 MiB:
// 422 "Too long: must have at most 1048576 bytes").
// core/v1 ConfigMaps in the Kubernetes double: list, GET, POST, PUT.
import { type PlainObject, PlainStore } from "./plain-store.ts";
import { ApiFailure } from "./state.ts";

const MAX_BYTES = 1024 * 1024;

export interface ConfigMap extends PlainObject {
  apiVersion: "v1";
  kind: "ConfigMap";
  data?: Record<string, string>;
}

export class ConfigMapStore extends PlainStore<ConfigMap> {
  constructor() {
    super({
      apiVersion: "v1",
      kind: "ConfigMap",
      plural: "configmaps",
      group: "",
      firstVersion: 5000,
      fields: (body) => (body.data ? { data: { ...body.data } } : {}),
      validate: (name, body) => checkSize(name, body.data),
    });
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

// Shared operator state on Kubernetes: one ConfigMap per key, in the leader election's namespace,
// named `<prefix>.<key with '/' as '.'>`, holding the value's JSON under `data.value`. Writes are
// updates carrying the resourceVersion read (409 Conflict when another writer came first) or, for a
// key not there yet, a create (409 AlreadyExists). Versions are this process's numbers for the
// resourceVersions it read (resourceVersion is opaque); one it did not hand out matches nothing.
// The API server refuses a ConfigMap over 1 MiB; values are kept to 512 KiB, as in Consul.
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from "@kubernetes/client-node";
import { messageOf } from "../../api/errors.ts";
import {
  checkSharedKey,
  InvalidSharedKeyError,
  type SharedState,
  SharedValueUnreadableError,
  sharedValueText,
  type Versioned,
} from "../../api/shared-state.ts";
import { KubernetesError, parseStatus } from "./api.ts";

export const KUBE_SHARED_VALUE_BYTES = 512 * 1024;

export class KubeSharedState implements SharedState {
  readonly description: string;
  readonly maxValueBytes: number;
  readonly #api: CoreV1Api;
  readonly #namespace: string;
  readonly #prefix: string;
  /** Per key: the version handed out for the resourceVersion last read or written. */
  readonly #read = new Map<string, { version: number; resourceVersion: string }>();
  #next = 1;

  constructor(config: KubeConfig, options: { namespace: string; prefix: string; maxValueBytes?: number }) {
    this.#api = config.makeApiClient(CoreV1Api);
    this.maxValueBytes = options.maxValueBytes ?? KUBE_SHARED_VALUE_BYTES;
    this.#namespace = options.namespace;
    this.#prefix = options.prefix;
    this.description = `ConfigMaps ${options.namespace}/${options.prefix}.*`;
  }

  async get<T>(key: string): Promise<Versioned<T> | undefined> {
    const name = this.#name(key);
    let map: V1ConfigMap;
    try {
      map = await this.#api.readNamespacedConfigMap({ name, namespace: this.#namespace });
    } catch (error) {
      if (codeOf(error) === 404) {
        this.#read.delete(key);
        return undefined;
      }
      throw this.#wrap("get", name, error);
    }
    const version = this.#remember(key, map);
    try {
      return { value: JSON.parse(map.data?.value ?? "null") as T, version };
    } catch (error) {
      throw new SharedValueUnreadableError(`ConfigMap ${this.#namespace}/${name}`, version, error);
    }
  }

  async put(key: string, value: unknown, version: number): Promise<number | undefined> {
    const name = this.#name(key);
    const text = sharedValueText(`ConfigMap ${this.#namespace}/${name}`, value, this.maxValueBytes);
    const body: V1ConfigMap = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace: this.#namespace, labels: { "app.kubernetes.io/name": "mlops-operator" } },
      data: { value: text },
    };
    try {
      if (version === 0) {
        return this.#remember(
          key,
          await this.#api.createNamespacedConfigMap({ namespace: this.#namespace, body }),
        );
      }
      const read = this.#read.get(key);
      if (read?.version !== version) return undefined;
      const written = await this.#api.replaceNamespacedConfigMap({
        name,
        namespace: this.#namespace,
        body: { ...body, metadata: { ...body.metadata, resourceVersion: read.resourceVersion } },
      });
      return this.#remember(key, written);
    } catch (error) {
      if (codeOf(error) === 409 || codeOf(error) === 404) return undefined;
      throw this.#wrap(version === 0 ? "create" : "update", name, error);
    }
  }

  #remember(key: string, map: V1ConfigMap): number {
    const resourceVersion = map.metadata?.resourceVersion ?? "";
    const known = this.#read.get(key);
    if (known?.resourceVersion === resourceVersion) return known.version;
    const version = this.#next++;
    this.#read.set(key, { version, resourceVersion });
    return version;
  }

  #name(key: string): string {
    checkSharedKey(key);
    // ConfigMap names are DNS subdomains: no '_'.
    if (key.includes("_")) throw new InvalidSharedKeyError(key);
    return `${this.#prefix}.${key.replaceAll("/", ".")}`;
  }

  #wrap(verb: string, name: string, error: unknown): KubernetesError {
    const code = codeOf(error);
    const status = parseStatus((error as { body?: unknown }).body);
    return new KubernetesError(
      code,
      status?.reason,
      `kubernetes: ${verb} ConfigMap ${this.#namespace}/${name}: ${code ? `${code} ` : ""}${status?.message ?? messageOf(error).split("\n")[0]}`,
      error,
    );
  }
}

function codeOf(error: unknown): number {
  const value = (error as { code?: unknown } | null)?.code;
  return typeof value === "number" ? value : 0;
}

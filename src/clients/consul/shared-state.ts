// Shared operator state in Consul KV, under a prefix (beside the leader-election lock): each value
// is its JSON text; its version is the key's ModifyIndex, and a write is `PUT ?cas=<index>` (0: only
// if the key does not exist; agent/kv_endpoint.go). Consul answers a write with true or false only,
// so the new ModifyIndex is read back; when the value read back is not the one written (another
// writer came between), the version returned matches nothing and the next write reads again.
// Consul refuses values over kv_max_value_size (512 KiB by default) with 413: a larger value is
// refused here before it is sent.
import {
  checkSharedKey,
  type SharedState,
  SharedValueUnreadableError,
  sharedValueText,
  type Versioned,
} from "../../api/shared-state.ts";
import type { ConsulClient } from "./client.ts";

/** Consul's default kv_max_value_size (raft's suggested maximum entry size). */
export const CONSUL_KV_MAX_VALUE_BYTES = 512 * 1024;

/** A version no key has: the next write re-reads. */
const STALE = -1;

export class ConsulSharedState implements SharedState {
  readonly description: string;
  readonly maxValueBytes: number;
  readonly #client: ConsulClient;
  readonly #prefix: string;

  constructor(client: ConsulClient, options: { prefix: string; maxValueBytes?: number }) {
    this.#client = client;
    this.#prefix = options.prefix.replace(/\/+$/, "");
    this.maxValueBytes = options.maxValueBytes ?? CONSUL_KV_MAX_VALUE_BYTES;
    this.description = `Consul KV ${this.#prefix}/ (at ${client.baseUrl})`;
  }

  async get<T>(key: string, signal?: AbortSignal): Promise<Versioned<T> | undefined> {
    checkSharedKey(key);
    const pair = await this.#client.kvGet(this.#key(key), signal);
    if (!pair) return undefined;
    try {
      return { value: JSON.parse(pair.Value ?? "null") as T, version: pair.ModifyIndex };
    } catch (error) {
      throw new SharedValueUnreadableError(this.#where(key), pair.ModifyIndex, error);
    }
  }

  async put(key: string, value: unknown, version: number, signal?: AbortSignal): Promise<number | undefined> {
    checkSharedKey(key);
    if (version < 0) return undefined;
    const text = sharedValueText(this.#where(key), value, this.maxValueBytes);
    const written = await this.#client.kvPut(this.#key(key), value, {
      cas: version,
      ...(signal ? { signal } : {}),
    });
    if (!written) return undefined;
    const pair = await this.#client.kvGet(this.#key(key), signal);
    return pair && pair.Value === text ? pair.ModifyIndex : STALE;
  }

  #key(key: string): string {
    return `${this.#prefix}/${key}`;
  }

  #where(key: string): string {
    return `Consul key ${this.#key(key)}`;
  }
}

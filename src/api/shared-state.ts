// Shared operator state: small JSON values under keys, read and written with check-and-set, for
// what must survive a failover (which notifications were sent, queue arrival and admission times).
// Two implementations: the state directory (one process: the default without --leader-elect;
// sources/state/shared-file.ts) and Consul KV beside the leader-election lock
// (clients/consul/shared-state.ts).
import { OperatorError } from "./errors.ts";

export interface Versioned<T> {
  readonly value: T;
  /** What `put` must be given to replace this value (Consul's ModifyIndex; a counter in a file). */
  readonly version: number;
}

export interface SharedState {
  /** Names where values live (for messages and logs). */
  readonly description: string;
  /** The largest value `put` takes, in bytes of its JSON text (Infinity: no limit). */
  readonly maxValueBytes: number;
  /** The value under `key`, or undefined when there is none. */
  get<T>(key: string, signal?: AbortSignal): Promise<Versioned<T> | undefined>;
  /**
   * Writes `value` under `key` only if the key's version is still `version` (0: only if the key does
   * not exist). The new version, or undefined when another writer got there first (read again).
   * Throws SharedValueTooLarge when the value's JSON is over maxValueBytes: nothing is written.
   */
  put(key: string, value: unknown, version: number, signal?: AbortSignal): Promise<number | undefined>;
}

/** Keys are slash-separated segments of lower-case letters, digits, '.', '_' and '-'. */
const KEY = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/;

export class InvalidSharedKeyError extends OperatorError {
  constructor(key: string) {
    super(
      "InvalidSharedKey",
      `shared state key ${JSON.stringify(key)} must be segments of a-z, 0-9, '.', '_', '-' joined by '/'`,
      { terminal: true },
    );
  }
}

export class SharedValueTooLargeError extends OperatorError {
  constructor(where: string, bytes: number, max: number) {
    super("SharedValueTooLarge", `${where}: the value is ${bytes} bytes, over the limit of ${max} bytes`);
  }
}

/** A value that is not JSON; `version` replaces it (what was there is not read). */
export class SharedValueUnreadableError extends OperatorError {
  readonly version: number;

  constructor(where: string, version: number, cause: unknown) {
    super("SharedValueUnreadable", `${where}: not JSON (${(cause as Error).message})`, { cause });
    this.version = version;
  }
}

/** The JSON text a value is stored as, refused before it is sent when it is over `maxBytes`. */
export function sharedValueText(where: string, value: unknown, maxBytes: number): string {
  const text = JSON.stringify(value);
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > maxBytes) throw new SharedValueTooLargeError(where, bytes, maxBytes);
  return text;
}

export function checkSharedKey(key: string): void {
  if (!KEY.test(key) || key.length > 256) throw new InvalidSharedKeyError(key);
}

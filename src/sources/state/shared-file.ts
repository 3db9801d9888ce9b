// Shared operator state in the state directory: `<state dir>/<key>.json` holds the value's JSON, as
// written atomically. Only one process uses a state directory (its lock), so the version is a
// counter this process keeps per key (a key found on disk starts at 1): check-and-set here guards
// against two writers in one process, not two replicas (with --leader-elect, Consul KV is used).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  checkSharedKey,
  type SharedState,
  SharedValueUnreadableError,
  sharedValueText,
  type Versioned,
} from "../../api/shared-state.ts";
import { writeFileAtomic } from "./atomic.ts";

export class FileSharedState implements SharedState {
  readonly description: string;
  readonly maxValueBytes: number;
  readonly #dir: string;
  readonly #versions = new Map<string, number>();
  /** One write at a time per key: a check and its write are not interleaved with another's. */
  readonly #writing = new Map<string, Promise<unknown>>();

  constructor(stateDir: string, options: { maxValueBytes?: number } = {}) {
    this.#dir = stateDir;
    this.description = `state directory ${stateDir}`;
    this.maxValueBytes = options.maxValueBytes ?? Number.POSITIVE_INFINITY;
  }

  async get<T>(key: string): Promise<Versioned<T> | undefined> {
    checkSharedKey(key);
    await this.#writing.get(key)?.catch(() => undefined);
    return this.#read<T>(key);
  }

  async #read<T>(key: string): Promise<Versioned<T> | undefined> {
    let text: string;
    try {
      text = await readFile(this.#path(key), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        this.#versions.delete(key);
        return undefined;
      }
      throw error;
    }
    const version = this.#versions.get(key) ?? 1;
    this.#versions.set(key, version);
    try {
      return { value: JSON.parse(text) as T, version };
    } catch (error) {
      throw new SharedValueUnreadableError(this.#path(key), version, error);
    }
  }

  async put(key: string, value: unknown, version: number): Promise<number | undefined> {
    checkSharedKey(key);
    const text = sharedValueText(this.#path(key), value, this.maxValueBytes);
    const previous = this.#writing.get(key) ?? Promise.resolve();
    const write = previous
      .catch(() => undefined)
      .then(async () => {
        if (!this.#versions.has(key)) await this.#read(key).catch(() => undefined);
        if ((this.#versions.get(key) ?? 0) !== version) return undefined;
        await writeFileAtomic(this.#path(key), text);
        const next = version + 1;
        this.#versions.set(key, next);
        return next;
      });
    this.#writing.set(key, write);
    try {
      return await write;
    } finally {
      if (this.#writing.get(key) === write) this.#writing.delete(key);
    }
  }

  #path(key: string): string {
    return join(this.#dir, `${key}.json`);
  }
}

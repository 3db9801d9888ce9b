// The state directory of one watched directory: generation counters, a status record per resource
// and (through EventLog) a bounded event log per resource. Status is written only when it changed,
// timestamps aside; writes for one resource are serialized; every write is atomic.

import { createHash } from "node:crypto";
import { rm } from "node:fs/promises";
import { type AnyResource, keyOf, type ResourceKey, type StatusOf } from "../../api/resources.ts";
import { writeFileAtomic } from "./atomic.ts";
import { Generations } from "./generations.ts";
import { canonicalJson, specHash } from "./hash.ts";
import { eventsPath, statusPath } from "./paths.ts";
import { readRecord, readRecordSync, type StatusRecord } from "./record.ts";

export class StateStore {
  readonly dir: string;
  readonly generations: Generations;
  /** Fingerprint (timestamps aside) of the last record written or read per key: small, unlike records. */
  readonly #last = new Map<ResourceKey, string>();
  readonly #queues = new Map<ResourceKey, Promise<unknown>>();
  #writes = 0;
  readonly #readOnly: boolean;

  /** `readOnly`: `mlopsctl plan` reads the state and computes generations in memory, writing nothing. */
  constructor(dir: string, options: { readOnly?: boolean } = {}) {
    this.dir = dir;
    this.#readOnly = options.readOnly === true;
    this.generations = new Generations(dir, { readOnly: this.#readOnly });
  }

  /** Number of status files actually written (for tests and benchmarks). */
  get writes(): number {
    return this.#writes;
  }

  /** Writes the status of `resource` unless it (and generation, spec, labels) is unchanged. */
  writeStatus<R extends AnyResource>(
    resource: R,
    status: StatusOf<R>,
    now: Date = new Date(),
  ): Promise<boolean> {
    const key = keyOf(resource);
    if (this.#readOnly) return Promise.resolve(false);
    return this.#serialize(key, async () => {
      await this.generations.flush();
      const hash = specHash(resource.spec);
      const created = this.generations.get(key)?.created ?? resource.metadata.creationTimestamp;
      const record: StatusRecord = {
        apiVersion: resource.apiVersion,
        kind: resource.kind,
        metadata: {
          name: resource.metadata.name,
          namespace: resource.metadata.namespace,
          generation: resource.metadata.generation,
          ...(created ? { creationTimestamp: created } : {}),
          ...(resource.metadata.labels ? { labels: resource.metadata.labels } : {}),
          ...(resource.metadata.annotations ? { annotations: resource.metadata.annotations } : {}),
        },
        spec: resource.spec,
        specHash: hash,
        status: status as Record<string, unknown>,
        updated: now.toISOString(),
      };
      const print = fingerprint(record);
      let previous = this.#last.get(key);
      if (previous === undefined) {
        const stored = await readRecord(this.dir, key);
        previous = stored ? fingerprint(stored) : undefined;
      }
      if (previous === print) {
        this.#last.set(key, print);
        return false;
      }
      await writeFileAtomic(statusPath(this.dir, key), `${JSON.stringify(record, null, 2)}\n`);
      this.#writes++;
      this.#last.set(key, print);
      return true;
    });
  }

  readSync(key: ResourceKey): StatusRecord | undefined {
    return readRecordSync(this.dir, key);
  }

  /** Drops the status, the events and the generation of a resource that is gone for good. */
  forget(key: ResourceKey): Promise<void> {
    if (this.#readOnly) return Promise.resolve();
    return this.#serialize(key, async () => {
      this.#last.delete(key);
      this.generations.delete(key);
      await rm(statusPath(this.dir, key), { force: true });
      await rm(eventsPath(this.dir, key), { force: true });
      await this.generations.flush();
    });
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#queues.values()]);
    await this.generations.close();
  }

  #serialize<T>(key: ResourceKey, work: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.#queues.set(key, settled);
    void settled.then(() => {
      if (this.#queues.get(key) === settled) this.#queues.delete(key);
    });
    return next;
  }
}

const TIME_KEYS = new Set(["lastTransitionTime", "lastUpdateTime", "updated"]);

/** Hash of a record without its timestamps: equal exactly when sameIgnoringTimes would say so. */
export function fingerprint(record: StatusRecord): string {
  return createHash("sha256")
    .update(canonicalJson(withoutTimes(record)))
    .digest("base64");
}

function withoutTimes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTimes);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (!TIME_KEYS.has(k)) out[k] = withoutTimes(v);
  return out;
}

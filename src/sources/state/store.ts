// The state directory of one watched directory: generation counters, a status record per resource
// and (through EventLog) a bounded event log per resource. Status is written only when it changed,
// timestamps aside, behind the caller (write-behind.ts): batched, each file atomic, the generations
// it refers to on disk first; readSync and a restarted store see the newest; close() flushes (and
// ends the state I/O worker once nothing is in flight: io-worker.ts).
// recordChanges() reports each record written and each key forgotten, in the writer's process, as
// they happen (the status page follows the store that way, not the files).
// The records it holds and reports carry no spec: the file has it (env values redacted), and the
// status page takes it from the live resource when it shows one (writtenSpec for the rest). A
// redacted copy of every spec, held as long as its record, was ~0.24 KB a resource at 10,000
// (docs/benchmarks.md, round 28).

import { createHash } from "node:crypto";
import { rm } from "node:fs/promises";
import { type Observable, Subject } from "rxjs";
import { isoTime } from "../../api/iso-time.ts";
import { KINDS } from "../../api/kinds.ts";
import { redactSpec } from "../../api/redact.ts";
import { type AnyResource, keyOf, makeKey, type ResourceKey, type StatusOf } from "../../api/resources.ts";
import { Generations } from "./generations.ts";
import { canonicalJson, specHash } from "./hash.ts";
import { closeIoWorker } from "./io-worker.ts";
import { eventsPath, statusPath } from "./paths.ts";
import { listRecords, parseRecord, readRecordSync, type StatusRecord } from "./record.ts";
import { sameRecord, TIME_KEYS } from "./same-record.ts";
import { WriteBehind, type WriteBehindOptions } from "./write-behind.ts";

export interface StateStoreOptions {
  /** `mlopsctl plan` reads the state and computes generations in memory, writing nothing. */
  readOnly?: boolean;
  /** Batching of status writes (delay, batch size, errors). */
  writeBehind?: WriteBehindOptions;
}

/** A record the store wrote (the object whose JSON goes to disk), or `undefined`: the key was forgotten. */
export interface StatusRecordChange {
  readonly key: ResourceKey;
  readonly record: StatusRecord | undefined;
  /**
   * The record was read from disk, not written: what a reader of the state directory found already,
   * unless the file changed since. Its status is the one the source holds (readSync).
   */
  readonly read?: true;
}

export class StateStore {
  readonly dir: string;
  readonly generations: Generations;
  /**
   * What each key's status file says: the record this process wrote or read last (shared with the
   * status page's view), or, with no view, the fingerprint of the one read from disk (ABSENT: no file).
   */
  readonly #last = new Map<ResourceKey, StatusRecord | string>();
  /** Keys whose record readAll() read and whose first readSync has not come yet: it takes that one. */
  readonly #primed = new Set<ResourceKey>();
  readonly #writer: WriteBehind;
  #writes = 0;
  readonly #readOnly: boolean;
  readonly #changes = new Subject<StatusRecordChange>();

  constructor(dir: string, options: StateStoreOptions = {}) {
    this.dir = dir;
    this.#readOnly = options.readOnly === true;
    this.generations = new Generations(dir, { readOnly: this.#readOnly });
    this.#writer = new WriteBehind({
      ...options.writeBehind,
      before: async () => {
        await this.generations.flush();
        await options.writeBehind?.before?.();
      },
    });
  }

  /** Number of status files actually written (for tests and benchmarks). */
  get writes(): number {
    return this.#writes;
  }

  /**
   * Each status record written from now on (when its fingerprint changed; the object itself, shared:
   * not to be mutated) and each key forgotten, synchronously and in order. Completes at close().
   */
  recordChanges(): Observable<StatusRecordChange> {
    return this.#changes.asObservable();
  }

  /**
   * Records the status of `resource` unless it (and generation, spec, labels) is unchanged; true when
   * written. The file lands with the next batch (flush() to wait for it).
   */
  writeStatus<R extends AnyResource>(
    resource: R,
    status: StatusOf<R>,
    now: Date = new Date(),
  ): Promise<boolean> {
    if (this.#readOnly) return Promise.resolve(false);
    try {
      return Promise.resolve(this.#writeStatus(resource, status, now));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #writeStatus(resource: AnyResource, status: unknown, now: Date): boolean {
    const key = keyOf(resource);
    const hash = specHash(resource.spec);
    const created = this.generations.get(key)?.created ?? resource.metadata.creationTimestamp;
    // Held without its spec (the file has it); compared through specHash.
    const record: StatusRecord = {
      apiVersion: resource.apiVersion,
      kind: resource.kind,
      metadata: recordMetadata(resource.metadata, created),
      spec: undefined,
      specHash: hash,
      status: status as Record<string, unknown>,
      updated: isoTime(now),
    };
    if (!this.#last.has(key)) this.readSync(key);
    const last = this.#last.get(key);
    if (last !== undefined && last !== ABSENT) {
      if (typeof last === "string" ? last === fingerprint(record) : sameRecord(last, record)) return false;
    }
    // Env values never reach the state directory: names and a hash only. One line: a third fewer
    // bytes to copy to the writer, to write and for `get` to read and parse.
    const line = JSON.stringify({ ...record, spec: redactSpec(resource.spec) });
    this.#writer.write(statusPath(this.dir, key), `${line}\n`);
    this.#writes++;
    this.#last.set(key, record);
    if (this.#changes.observed) this.#changes.next({ key, record });
    return true;
  }

  /**
   * `hash` is the spec hash of `key`'s resource as the caller holds it: a record of the same hash
   * takes the caller's string (its text unchanged), one copy per resource instead of one per holder
   * (80 bytes; 0.8 MB at 10,000 records read at start).
   */
  shareSpecHash(key: ResourceKey, hash: string): void {
    const last = this.#last.get(key);
    if (typeof last === "object" && last.specHash === hash) last.specHash = hash;
  }

  /**
   * The spec of `key`'s newest record as written (pending or on disk, env values redacted); undefined
   * without one. Read each time, kept nowhere: the records this store holds carry no spec.
   */
  writtenSpec(key: ResourceKey): unknown {
    const pending = this.#writer.pending(statusPath(this.dir, key));
    return (pending !== undefined ? parseRecord(pending, false) : readRecordSync(this.dir, key))?.spec;
  }

  /** The record this store holds for `key` (written, or read while observed; no spec), if it holds one. */
  recorded(key: ResourceKey): StatusRecord | undefined {
    const last = this.#last.get(key);
    return typeof last === "object" ? last : undefined;
  }

  /** Waits until every status recorded so far is on disk. */
  flush(): Promise<void> {
    return this.#writer.flush();
  }

  /**
   * The newest status record of `key` (pending or on disk), with its spec unless `withSpec` is false
   * (the first read after readAll() then takes the record that read kept). The first read of a key is
   * remembered: as the record without its spec while recordChanges() is observed (reported, `read`:
   * the status page then holds this one instead of its own parse of the same file, and the source its
   * status), else as its fingerprint.
   */
  readSync(key: ResourceKey, withSpec = true): StatusRecord | undefined {
    if (this.#primed.delete(key) && !withSpec) {
      const last = this.#last.get(key);
      if (typeof last === "object") return last;
    }
    const pending = this.#writer.pending(statusPath(this.dir, key));
    const record = pending !== undefined ? parseRecord(pending) : readRecordSync(this.dir, key);
    if (!this.#last.has(key)) {
      if (record && this.#changes.observed) {
        const kept = withoutSpec(record);
        this.#last.set(key, kept);
        this.#changes.next({ key, record: kept, read: true });
        if (!withSpec) return kept;
      } else this.#last.set(key, record ? fingerprint(record) : ABSENT);
    }
    return record;
  }

  /**
   * Every status record on disk, kinds in registry order, then namespace, then name (the status
   * page's read at start; flush() first for the records still waiting to be written). Each record
   * read while recordChanges() is observed becomes this store's record of its key, and the first
   * readSync of that key takes it instead of reading and parsing the file again (this process holds
   * the state directory's lock: the file changes only through this store, which then holds the
   * newer record). A key this store holds a record of already gives that record, not the file's.
   */
  async readAll(): Promise<StatusRecord[]> {
    const out: StatusRecord[] = [];
    for (const kind of KINDS) {
      for (const read of await listRecords(this.dir, kind)) {
        const key = makeKey(read.kind, read.metadata.namespace, read.metadata.name);
        const last = this.#last.get(key);
        if (typeof last === "object") {
          out.push(last);
          continue;
        }
        const kept = withoutSpec(read);
        if (last === undefined && this.#changes.observed) {
          this.#last.set(key, kept);
          this.#primed.add(key);
        }
        out.push(kept);
      }
    }
    return out;
  }

  /** Drops the status, the events and the generation of a resource that is gone for good. */
  forget(key: ResourceKey): Promise<void> {
    if (this.#readOnly) return Promise.resolve();
    return this.#serialize(key, async () => {
      this.#primed.delete(key);
      this.#last.delete(key);
      this.#changes.next({ key, record: undefined });
      this.generations.delete(key);
      await this.#writer.cancel(statusPath(this.dir, key));
      await rm(statusPath(this.dir, key), { force: true });
      await rm(eventsPath(this.dir, key), { force: true });
      await this.generations.flush();
    });
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#queues.values()]);
    try {
      await this.#writer.close();
      await this.generations.close();
    } finally {
      this.#changes.complete();
      await closeIoWorker();
    }
  }

  readonly #queues = new Map<ResourceKey, Promise<unknown>>();

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

/** The record as this store holds it: the same object but for its spec (the file has that). */
function withoutSpec(record: StatusRecord): StatusRecord {
  return record.spec === undefined ? record : { ...record, spec: undefined };
}

/** Fingerprint of "no record": never equal to a record's. */
const ABSENT = "absent";

/** The members of a resource's metadata a status record keeps. */
const RECORD_METADATA = new Set([
  "name",
  "namespace",
  "generation",
  "creationTimestamp",
  "labels",
  "annotations",
]);

/**
 * A status record's metadata: the resource's own object where it holds nothing but what a record
 * keeps, as a directory source's resource does (its generation and creation time stamped from the
 * generations), else a copy of those members. A record held beside its resource then costs no second
 * object (72 bytes; 0.7 MB at 10,000; docs/benchmarks.md, round 31). Neither is changed once made:
 * a resource that changes is a new resource, from a new read.
 */
function recordMetadata(
  meta: AnyResource["metadata"],
  created: string | undefined,
): StatusRecord["metadata"] {
  let own = meta.creationTimestamp === created && typeof meta.generation === "number";
  for (const member in meta) own &&= RECORD_METADATA.has(member);
  if (own) return meta as StatusRecord["metadata"];
  return {
    name: meta.name,
    namespace: meta.namespace,
    generation: meta.generation,
    ...(created ? { creationTimestamp: created } : {}),
    ...(meta.labels ? { labels: meta.labels } : {}),
    ...(meta.annotations ? { annotations: meta.annotations } : {}),
  };
}

/**
 * Hash of a record without its timestamps: equal exactly when sameRecord would say so (kept for the
 * records read from disk: a hash instead of the parsed record). The spec counts through its hash
 * (the record carries it), so it is not serialized a second time.
 */
export function fingerprint(record: StatusRecord): string {
  const { spec: _spec, ...rest } = record;
  return createHash("sha256")
    .update(canonicalJson(withoutTimes(rest)))
    .digest("base64");
}

function withoutTimes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTimes);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (!TIME_KEYS.has(k)) out[k] = withoutTimes(v);
  return out;
}

// The status records the web page and its JSON API serve, kept in memory. The view lives in the
// process that writes them: the state store reports each record it writes (the object it built,
// shared, not copied) and each key it forgets, and the view applies that at once; the state directory
// is read once, at start, for the records written before. The operator's reconciles never wait for
// the page (a report is a map update and the listeners' writes).
// The records carry no spec (the store holds none: ~0.24 KB a resource at 10,000): what the page
// serves takes it, redacted, from the live resource when the record is of its generation, else from
// the record's file (a resource changed or deleted since its last status: the spec it was written
// with).
import type { Observable, Subscription } from "rxjs";
import { KINDS } from "../api/kinds.ts";
import { byCodeUnits } from "../api/order.ts";
import { redactSpec } from "../api/redact.ts";
import { keyOf, type ResourceKey } from "../api/resources.ts";
import {
  type RecordEvent,
  type StatusRecord,
  type StatusRecordChange,
  sameRecord,
} from "../sources/state/index.ts";

/** Where the view's records come from: the state store of this process (StateStore is one). */
export interface StatusFeed {
  /** The state directory the records are written to. */
  readonly dir: string;
  /** Each record written and each key forgotten from the moment of subscription, in order. */
  recordChanges(): Observable<StatusRecordChange>;
  /** Resolves when everything written so far is on disk. */
  flush(): Promise<void>;
  /** Every record on disk, kinds in registry order, then namespace, then name (StateStore.readAll). */
  readAll(): Promise<readonly StatusRecord[]>;
  /** The spec `key`'s newest record was written with (redacted), read from its file. */
  writtenSpec(key: ResourceKey): unknown;
}

export interface StatusViewOptions {
  /**
   * The live resource of `key` (its spec, unredacted, and generation), if there is one: a record of
   * its generation shows its spec. Without it, every spec is read from the record's file.
   */
  readonly live?: (
    key: ResourceKey,
  ) => { readonly spec: unknown; readonly metadata: { readonly generation?: number } } | undefined;
}

/** Changes kept for streams that resume (a page opened a moment ago, a reconnecting EventSource). */
export const RECENT_KEPT = 1_024;

export class StatusView {
  readonly #feed: StatusFeed;
  #records = new Map<ResourceKey, StatusRecord>();
  #sorted: StatusRecord[] | undefined;
  #subscription: Subscription | undefined;
  /** Keys reported while the initial read is under way: what that read finds of them is older. */
  #reported: Set<ResourceKey> | undefined;
  #closed = false;
  readonly #listeners = new Set<(event: RecordEvent, version: number) => void>();
  /** The number of the last change (0: none yet), and the newest changes, for a stream resuming after one. */
  #version = 0;
  /** Names this view's numbering: a number from another process (before a restart) means nothing here. */
  readonly epoch = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  readonly #recent: { readonly version: number; readonly event: RecordEvent }[] = [];

  readonly #live: StatusViewOptions["live"];

  constructor(feed: StatusFeed, options: StatusViewOptions = {}) {
    this.#feed = feed;
    this.#live = options.live;
  }

  /**
   * The record with its spec, as the page and its API show it: the live resource's (env values
   * redacted) when the record is of its generation, else the one its file was written with.
   */
  withSpec(record: StatusRecord): StatusRecord {
    if (record.spec !== undefined) return record;
    const key = keyOf(record);
    const live = this.#live?.(key);
    const spec =
      live && live.metadata.generation === record.metadata.generation
        ? redactSpec(live.spec)
        : this.#feed.writtenSpec(key);
    return { ...record, spec };
  }

  /**
   * Follows the feed, then reads the records already on disk. Subscribed first, so a record written
   * during the read is not missed; and it wins over what the read finds of its key.
   */
  async start(): Promise<void> {
    if (this.#subscription || this.#closed) return;
    const reported = new Set<ResourceKey>();
    this.#reported = reported;
    this.#subscription = this.#feed.recordChanges().subscribe({ next: (change) => this.#apply(change) });
    try {
      // Records written before the subscription and still waiting to be written are on disk after this.
      await this.#feed.flush();
      // The store's own reads: the source's first read of each key takes the same record (one parse).
      const records = await this.#feed.readAll();
      if (this.#closed) return;
      for (const record of records) {
        const key = keyOf(record);
        if (reported.has(key)) continue;
        this.#records.set(key, record);
        this.#sorted = undefined;
        this.#emit({ type: "ADDED", record });
      }
    } finally {
      this.#reported = undefined;
    }
  }

  /** Every record (kinds in registry order, then namespace, then name); the same array until a change. */
  list(): readonly StatusRecord[] {
    if (!this.#sorted) {
      const order = new Map(KINDS.map((k, i) => [k, i]));
      this.#sorted = [...this.#records.values()].sort(
        (a, b) =>
          (order.get(a.kind) ?? 0) - (order.get(b.kind) ?? 0) ||
          byCodeUnits(a.metadata.namespace, b.metadata.namespace) ||
          byCodeUnits(a.metadata.name, b.metadata.name),
      );
    }
    return this.#sorted;
  }

  get stateDir(): string {
    return this.#feed.dir;
  }

  get(key: ResourceKey): StatusRecord | undefined {
    return this.#records.get(key);
  }

  /** The number of the last change; a page rendered now shows every change up to it. */
  get version(): number {
    return this.#version;
  }

  /**
   * The changes after `version`, oldest first; undefined when some of them are no longer kept (the
   * caller then sends the whole state again).
   */
  since(version: number): { readonly version: number; readonly event: RecordEvent }[] | undefined {
    if (version >= this.#version) return [];
    const oldest = this.#recent[0]?.version;
    if (oldest === undefined || version < oldest - 1) return undefined;
    return this.#recent.filter((r) => r.version > version);
  }

  /** Listeners subscribed now (open event streams). */
  get subscribers(): number {
    return this.#listeners.size;
  }

  /** Calls `listener` with each change from now on (and its number); returns the unsubscribe function. */
  subscribe(listener: (event: RecordEvent, version: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#closed = true;
    this.#subscription?.unsubscribe();
  }

  /**
   * A record the store wrote (new, or changed: the store reports only those) or read, or a key it
   * forgot. A record read from the file this view read already is the same record: the view holds the
   * store's (whose status the source holds too) instead of its own copy, and reports nothing.
   */
  #apply({ key, record, read }: StatusRecordChange): void {
    if (this.#closed) return;
    this.#reported?.add(key);
    const before = this.#records.get(key);
    if (read && record && before && before.updated === record.updated && sameRecord(before, record)) {
      this.#records.set(key, record);
      this.#sorted = undefined;
      return;
    }
    if (record) {
      this.#records.set(key, record);
      this.#sorted = undefined;
      this.#emit({ type: before ? "MODIFIED" : "ADDED", record });
    } else if (before) {
      this.#records.delete(key);
      this.#sorted = undefined;
      // With its spec now: the resource is gone, and its file goes next.
      this.#emit({ type: "DELETED", record: this.withSpec(before) });
    }
  }

  #emit(event: RecordEvent): void {
    const version = ++this.#version;
    this.#recent.push({ version, event });
    if (this.#recent.length > RECENT_KEPT) this.#recent.shift();
    for (const listener of this.#listeners) listener(event, version);
  }
}

// The status records the web page and its JSON API serve, kept in memory: read once at start, then
// one file re-read per change fs.watch reports (its file name says which), and a full rescan at a
// bounded interval for changes fs.watch misses. A request never reads the disk, and the operator's
// reconciles never wait for the page.
// Each folder of status/ is watched on its own (StatusFolderWatch says why).
import { sep } from "node:path";
import { isKind, KINDS } from "../api/kinds.ts";
import { type Kind, makeKey, type ResourceKey } from "../api/resources.ts";
import {
  listScope,
  type RecordEvent,
  readRecord,
  StatusFolderWatch,
  type StatusRecord,
} from "../sources/state/index.ts";

export interface StatusViewOptions {
  /** Full rescan interval (default 30 s). */
  readonly rescanMs?: number;
}

/** Changes kept for streams that resume (a page opened a moment ago, a reconnecting EventSource). */
export const RECENT_KEPT = 1_024;

const KIND_BY_FOLDER = new Map<string, Kind>(KINDS.map((k) => [k.toLowerCase(), k]));

export class StatusView {
  readonly #stateDir: string;
  readonly #rescanMs: number;
  #records = new Map<ResourceKey, StatusRecord>();
  #sorted: StatusRecord[] | undefined;
  readonly #folders: StatusFolderWatch;
  /** The re-read of each record in flight: the reads of one record land in the order of their events. */
  readonly #reading = new Map<ResourceKey, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #listeners = new Set<(event: RecordEvent, version: number) => void>();
  /** The number of the last change (0: none yet), and the newest changes, for a stream resuming after one. */
  #version = 0;
  /** Names this view's numbering: a number from another process (before a restart) means nothing here. */
  readonly epoch = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  readonly #recent: { readonly version: number; readonly event: RecordEvent }[] = [];

  constructor(stateDir: string, options: StatusViewOptions = {}) {
    this.#stateDir = stateDir;
    this.#rescanMs = options.rescanMs ?? 30_000;
    // In a namespace folder: that record. Above: a kind or namespace folder came or went, and records
    // may have landed in a new folder before its watch began: read everything again.
    this.#folders = new StatusFolderWatch(stateDir, ({ folder, file, inNamespace }) => {
      if (inNamespace) {
        if (file !== undefined) this.#refresh(`${folder}${sep}${file}`);
      } else void this.rescan().catch(() => undefined);
    });
  }

  /** Reads every record and starts following changes. */
  async start(): Promise<void> {
    await this.rescan();
    this.#timer = setInterval(() => void this.rescan().catch(() => undefined), this.#rescanMs);
    this.#timer.unref();
  }

  /** Every record (kinds in registry order, then namespace, then name); the same array until a change. */
  list(): readonly StatusRecord[] {
    if (!this.#sorted) {
      const order = new Map(KINDS.map((k, i) => [k, i]));
      this.#sorted = [...this.#records.values()].sort(
        (a, b) =>
          (order.get(a.kind) ?? 0) - (order.get(b.kind) ?? 0) ||
          a.metadata.namespace.localeCompare(b.metadata.namespace) ||
          a.metadata.name.localeCompare(b.metadata.name),
      );
    }
    return this.#sorted;
  }

  get stateDir(): string {
    return this.#stateDir;
  }

  get(key: ResourceKey): StatusRecord | undefined {
    return this.#records.get(key);
  }

  async rescan(): Promise<void> {
    // Watch first: a record written while the folders are read is then reported, not missed.
    this.#watch();
    const records = await listScope(this.#stateDir, {});
    if (this.#closed) return;
    const before = this.#records;
    this.#records = new Map(records.map((r) => [makeKey(r.kind, r.metadata.namespace, r.metadata.name), r]));
    this.#sorted = undefined;
    for (const [key, record] of this.#records) this.#changed(before.get(key), record);
    for (const [key, record] of before) if (!this.#records.has(key)) this.#emit({ type: "DELETED", record });
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

  #changed(before: StatusRecord | undefined, after: StatusRecord): void {
    if (!before) this.#emit({ type: "ADDED", record: after });
    // The store writes a record only when it means something new, and stamps `updated` then.
    else if (before.updated !== after.updated) this.#emit({ type: "MODIFIED", record: after });
  }

  #emit(event: RecordEvent): void {
    const version = ++this.#version;
    this.#recent.push({ version, event });
    if (this.#recent.length > RECENT_KEPT) this.#recent.shift();
    for (const listener of this.#listeners) listener(event, version);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#folders.close();
  }

  /** Watches status/ and each kind and namespace folder in it (those new since the last call). */
  #watch(): void {
    if (this.#closed) return;
    if (!this.#folders.sync()) {
      // No status folder yet (a fresh state directory): look again in a second, not at the next rescan.
      setTimeout(() => void this.rescan().catch(() => undefined), 1000).unref();
    }
  }

  /** Re-reads the record of a `kind/namespace/name.json` path after the reads already under way for it. */
  #refresh(file: string): void {
    const parts = file.split(sep);
    const kind = KIND_BY_FOLDER.get(parts[0] ?? "");
    const [, namespace, base] = parts;
    if (!kind || !isKind(kind) || !namespace || !base?.endsWith(".json") || parts.length !== 3) return;
    const key = makeKey(kind, namespace, base.slice(0, -".json".length));
    const read = (this.#reading.get(key) ?? Promise.resolve()).then(() => this.#reread(key));
    this.#reading.set(key, read);
    void read.finally(() => {
      if (this.#reading.get(key) === read) this.#reading.delete(key);
    });
  }

  /** Reads one record again (temporary files and other names never get here). */
  async #reread(key: ResourceKey): Promise<void> {
    let record: StatusRecord | undefined;
    try {
      record = await readRecord(this.#stateDir, key);
    } catch {
      return; // not a name a record can have
    }
    if (this.#closed) return;
    const before = this.#records.get(key);
    if (record) this.#records.set(key, record);
    else this.#records.delete(key);
    this.#sorted = undefined;
    if (record) this.#changed(before, record);
    else if (before) this.#emit({ type: "DELETED", record: before });
  }
}

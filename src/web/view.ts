// The status records the web page and its JSON API serve, kept in memory: read once at start, then
// one file re-read per change fs.watch reports (its file name says which; one watch per folder,
// StatusFolderWatch), and a full rescan at a bounded interval for changes fs.watch misses. A request
// never reads the disk, and the operator's reconciles never wait for the page.
import { sep } from "node:path";
import { isKind, KINDS } from "../api/kinds.ts";
import { type Kind, makeKey, type ResourceKey } from "../api/resources.ts";
import { StatusFolderWatch } from "../sources/state/folder-watch.ts";
import { listScope, type RecordEvent, readRecordSync, type StatusRecord } from "../sources/state/index.ts";

export interface StatusViewOptions {
  /** Full rescan interval (default 30 s). */
  readonly rescanMs?: number;
}

const KIND_BY_FOLDER = new Map<string, Kind>(KINDS.map((k) => [k.toLowerCase(), k]));

export class StatusView {
  readonly #stateDir: string;
  readonly #rescanMs: number;
  #records = new Map<ResourceKey, StatusRecord>();
  #sorted: StatusRecord[] | undefined;
  #watcher: StatusFolderWatch | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #listeners = new Set<(event: RecordEvent) => void>();

  constructor(stateDir: string, options: StatusViewOptions = {}) {
    this.#stateDir = stateDir;
    this.#rescanMs = options.rescanMs ?? 30_000;
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
    const records = await listScope(this.#stateDir, {});
    if (this.#closed) return;
    const before = this.#records;
    this.#records = new Map(records.map((r) => [makeKey(r.kind, r.metadata.namespace, r.metadata.name), r]));
    this.#sorted = undefined;
    if (this.#listeners.size > 0) {
      for (const [key, record] of this.#records) this.#changed(before.get(key), record);
      for (const [key, record] of before)
        if (!this.#records.has(key)) this.#emit({ type: "DELETED", record });
    }
    this.#watch();
  }

  /** Listeners subscribed now (open event streams). */
  get subscribers(): number {
    return this.#listeners.size;
  }

  /** Calls `listener` with each change from now on; returns the unsubscribe function. */
  subscribe(listener: (event: RecordEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(before: StatusRecord | undefined, after: StatusRecord): void {
    if (!before) this.#emit({ type: "ADDED", record: after });
    // The store writes a record only when it means something new, and stamps `updated` then.
    else if (before.updated !== after.updated) this.#emit({ type: "MODIFIED", record: after });
  }

  #emit(event: RecordEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#watcher?.close();
  }

  #watch(): void {
    if (this.#watcher || this.#closed) return;
    const retry = () => {
      // No status folder yet (a fresh state directory): look again in a second, not at the next rescan.
      this.#watcher?.close();
      this.#watcher = undefined;
      if (!this.#closed) setTimeout(() => void this.rescan().catch(() => undefined), 1000).unref();
    };
    try {
      this.#watcher = new StatusFolderWatch(this.#stateDir, {
        onChange: (files) => {
          if (files === "rescan") void this.rescan().catch(() => undefined);
          else for (const file of files) this.#refresh(file);
        },
        onGone: retry,
      });
    } catch {
      retry();
    }
  }

  /** Re-reads one `kind/namespace/name.json` file (others, such as temporary files, are ignored). */
  #refresh(file: string): void {
    const parts = file.split(sep);
    const kind = KIND_BY_FOLDER.get(parts[0] ?? "");
    const [, namespace, base] = parts;
    if (!kind || !isKind(kind) || !namespace || !base?.endsWith(".json") || parts.length !== 3) return;
    const key = makeKey(kind, namespace, base.slice(0, -".json".length));
    let record: StatusRecord | undefined;
    try {
      record = readRecordSync(this.#stateDir, key);
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

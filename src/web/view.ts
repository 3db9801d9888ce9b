// The status records the web page and its JSON API serve, kept in memory: read once at start, then
// one file re-read per change fs.watch reports (its file name says which), and a full rescan at a
// bounded interval for changes fs.watch misses. A request never reads the disk, and the operator's
// reconciles never wait for the page.
//
// Each folder of status/ is watched on its own (status/, status/<kind>/, status/<kind>/<namespace>/),
// not with one recursive watch: on Linux, Node's recursive fs.watch follows each file by its inode and
// goes silent for a record once it is replaced by a rename, which is how every record is written
// (writeFileAtomic); a folder's own watch reports the name renamed into it.
import { existsSync, type FSWatcher, readdirSync, watch } from "node:fs";
import { join, sep } from "node:path";
import { isKind, KINDS } from "../api/kinds.ts";
import { type Kind, makeKey, type ResourceKey } from "../api/resources.ts";
import { listScope, type RecordEvent, readRecord, type StatusRecord } from "../sources/state/index.ts";

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
  /** One watch per folder, by its path under status/ ("" for status/ itself). */
  readonly #watchers = new Map<string, FSWatcher>();
  /** The re-read of each record in flight: the reads of one record land in the order of their events. */
  readonly #reading = new Map<ResourceKey, Promise<void>>();
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
    // Watch first: a record written while the folders are read is then reported, not missed.
    this.#watch();
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
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
  }

  /** Watches status/ and each kind and namespace folder in it (those new since the last call). */
  #watch(): void {
    if (this.#closed) return;
    const status = join(this.#stateDir, "status");
    if (!existsSync(status)) {
      // No status folder yet (a fresh state directory): look again in a second, not at the next rescan.
      setTimeout(() => void this.rescan().catch(() => undefined), 1000).unref();
      return;
    }
    for (const [folder, watcher] of this.#watchers) {
      if (existsSync(join(status, folder))) continue;
      watcher.close();
      this.#watchers.delete(folder);
    }
    this.#watchFolder("");
    for (const kind of subfolders(status)) {
      if (!KIND_BY_FOLDER.has(kind)) continue;
      this.#watchFolder(kind);
      for (const namespace of subfolders(join(status, kind))) this.#watchFolder(join(kind, namespace));
    }
  }

  #watchFolder(folder: string): void {
    if (this.#watchers.has(folder)) return;
    const inNamespace = folder.split(sep).length === 2;
    let watcher: FSWatcher;
    try {
      watcher = watch(join(this.#stateDir, "status", folder), { persistent: false }, (_e, file) => {
        // In a namespace folder: that record. Above: a kind or namespace folder came or went, and
        // records may have landed in a new folder before its watch began: read everything again.
        if (inNamespace) {
          if (typeof file === "string") this.#refresh(join(folder, file));
        } else void this.rescan().catch(() => undefined);
      });
    } catch {
      return; // gone again, or unreadable: the next rescan looks again
    }
    watcher.on("error", () => {
      watcher.close();
      if (this.#watchers.get(folder) === watcher) this.#watchers.delete(folder);
    });
    this.#watchers.set(folder, watcher);
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

function subfolders(path: string): string[] {
  try {
    return readdirSync(path, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}

// fs.watch over a state directory's status folders, one watch per folder (status/, status/<kind>/,
// status/<kind>/<namespace>/), not one recursive watch: on Linux, Node's recursive fs.watch follows
// each file by its inode and goes silent for a record once it is replaced by a rename, which is how
// every record is written (writeFileAtomic); a folder's own watch reports the name renamed into it.
import { existsSync, type FSWatcher, readdirSync, watch } from "node:fs";
import { join, sep } from "node:path";
import { KINDS } from "../../api/kinds.ts";

const KIND_FOLDERS = new Set<string>(KINDS.map((k) => k.toLowerCase()));

export interface FolderChange {
  /** The folder under status/ the change is in ("" for status/ itself; `kind/namespace` for records). */
  readonly folder: string;
  /** The file or folder name fs.watch reported, when it said one. */
  readonly file: string | undefined;
  /** A record's folder (kind/namespace): `file` names one record. Above it, folders came or went. */
  readonly inNamespace: boolean;
}

export class StatusFolderWatch {
  readonly #status: string;
  readonly #onChange: (change: FolderChange) => void;
  readonly #watchers = new Map<string, FSWatcher>();
  #closed = false;

  constructor(stateDir: string, onChange: (change: FolderChange) => void) {
    this.#status = join(stateDir, "status");
    this.#onChange = onChange;
  }

  /** Watches the folders that exist now and are not watched yet; drops the watches of folders gone. False: no status/ yet. */
  sync(): boolean {
    if (this.#closed) return false;
    if (!existsSync(this.#status)) return false;
    for (const [folder, watcher] of this.#watchers) {
      if (existsSync(join(this.#status, folder))) continue;
      watcher.close();
      this.#watchers.delete(folder);
    }
    this.#watchFolder("");
    for (const kind of subfolders(this.#status)) {
      if (!KIND_FOLDERS.has(kind)) continue;
      this.#watchFolder(kind);
      for (const namespace of subfolders(join(this.#status, kind))) this.#watchFolder(join(kind, namespace));
    }
    return true;
  }

  close(): void {
    this.#closed = true;
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
  }

  #watchFolder(folder: string): void {
    if (this.#watchers.has(folder)) return;
    const inNamespace = folder.split(sep).length === 2;
    let watcher: FSWatcher;
    try {
      watcher = watch(join(this.#status, folder), { persistent: false }, (_event, file) =>
        this.#onChange({ folder, file: typeof file === "string" ? file : undefined, inNamespace }),
      );
    } catch {
      return; // gone again, or unreadable: the next sync looks again
    }
    watcher.on("error", () => {
      watcher.close();
      if (this.#watchers.get(folder) === watcher) this.#watchers.delete(folder);
    });
    this.#watchers.set(folder, watcher);
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

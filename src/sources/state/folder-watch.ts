// Watches the state directory's status folder (`status/<kind>/<namespace>/<name>.json`) with one
// non-recursive fs.watch per folder: the status folder, each kind's, each namespace's. Node's
// `recursive: true` on Linux is a JavaScript walk that keeps one fs.watch and one Stats object per
// FILE and re-reads the whole folder (readdir, path.relative per entry) on every rename into it: at
// 10,000 records that is 10,000 watches and a quadratic cost while the operator writes its records.
import { readdirSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { TreeWatcher } from "../directory/watcher.ts";

export interface StatusFolderWatchOptions {
  /**
   * Record files that changed, relative to the status folder (`trainingjob/team-a/x.json`; others,
   * such as temporary files, pass through too), or "rescan" when changes may have been missed (a
   * folder appeared, events overflowed).
   */
  readonly onChange: (files: readonly string[] | "rescan") => void;
  /** The status folder went away (the watch has stopped; start another when it is back). */
  readonly onGone: () => void;
}

export class StatusFolderWatch {
  readonly #root: string;
  readonly #options: StatusFolderWatchOptions;
  readonly #tree: TreeWatcher;

  /** Watches `<stateDir>/status`; throws when it cannot (no such folder yet). */
  constructor(stateDir: string, options: StatusFolderWatchOptions) {
    this.#root = join(stateDir, "status");
    this.#options = options;
    this.#tree = new TreeWatcher({ persistent: false, onChange: (paths) => this.#changed(paths) });
    if (!this.#add(this.#root, 0)) {
      this.#tree.close();
      throw new Error(`cannot watch ${this.#root}`);
    }
  }

  /** Folders watched (1 + kinds + namespaces). */
  get size(): number {
    return this.#tree.size;
  }

  close(): void {
    this.#tree.close();
  }

  /** Watches `dir` (depth 0: status, 1: a kind, 2: a namespace) and the folders below it. */
  #add(dir: string, depth: number): boolean {
    if (!this.#tree.add(dir)) return false;
    if (depth < 2) {
      let entries: string[] = [];
      try {
        entries = readdirSync(dir);
      } catch {
        return true; // gone meanwhile: its watch reports it
      }
      for (const name of entries) {
        const sub = join(dir, name);
        if (!name.startsWith(".") && isDirectory(sub)) this.#add(sub, depth + 1);
      }
    }
    return true;
  }

  #changed(paths: ReadonlySet<string> | "rescan"): void {
    if (paths === "rescan") {
      this.#options.onChange("rescan");
      return;
    }
    if (!this.#tree.has(this.#root) || !isDirectory(this.#root)) {
      this.close();
      this.#options.onGone();
      return;
    }
    const files: string[] = [];
    let rescan = false;
    for (const path of paths) {
      const rel = relative(this.#root, path);
      const depth = rel.split(sep).length;
      if (depth >= 3) files.push(rel);
      else if (rel !== "" && isDirectory(path) && !this.#tree.has(path)) {
        // A new kind or namespace folder: its records may have been written before its watch.
        this.#add(path, depth);
        rescan = true;
      }
    }
    if (rescan) this.#options.onChange("rescan");
    else if (files.length > 0) this.#options.onChange(files);
  }
}

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

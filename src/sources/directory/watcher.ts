// Event-driven watch of a tree: one non-recursive fs.watch (one inotify watch) per directory, not
// per file, so 10,000 files cost a handful of watches. Paths that changed are collected and handed
// over after a short quiet period (a few ms), coalescing bursts; there is no polling.
import { type FSWatcher, statSync, watch } from "node:fs";
import { join, sep } from "node:path";

export interface TreeWatcherOptions {
  /** Paths that changed (files or directories, possibly gone); "rescan" when events were lost. */
  onChange: (paths: ReadonlySet<string> | "rescan") => void;
  /** Coalescing delay in ms (at most 20). */
  debounceMs?: number;
  /** Whether the watches keep the process alive (default true). */
  persistent?: boolean;
}

export class TreeWatcher {
  readonly #watchers = new Map<string, FSWatcher>();
  /**
   * Identity of each watched directory (inode and birth time: a recreated directory often gets the
   * freed inode back): a directory deleted and recreated under the same path is another one.
   */
  readonly #identities = new Map<string, string>();
  readonly #onChange: TreeWatcherOptions["onChange"];
  readonly #debounceMs: number;
  readonly #persistent: boolean;
  #pending = new Set<string>();
  #rescan = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: TreeWatcherOptions) {
    this.#onChange = options.onChange;
    this.#debounceMs = Math.min(20, Math.max(0, options.debounceMs ?? 3));
    this.#persistent = options.persistent ?? true;
  }

  get size(): number {
    return this.#watchers.size;
  }

  has(dir: string): boolean {
    return this.#watchers.has(dir);
  }

  /**
   * Watches one directory (its direct entries). Returns false when it cannot be watched. A path
   * already watched is watched again when it is another directory now (deleted and recreated
   * faster than the watch reported it): the old watch sees nothing any more.
   */
  add(dir: string): boolean {
    if (this.#closed) return true;
    let identity: string;
    try {
      const stat = statSync(dir, { bigint: true });
      identity = `${stat.ino}:${stat.birthtimeNs}`;
    } catch {
      return false;
    }
    if (this.#watchers.has(dir)) {
      if (this.#identities.get(dir) === identity) return true;
      this.#watchers.get(dir)?.close();
      this.#watchers.delete(dir);
    }
    try {
      const watcher = watch(dir, { persistent: this.#persistent }, (_event, filename) => {
        if (filename === null) this.#rescan = true;
        else this.#pending.add(join(dir, filename.toString()));
        this.#schedule();
      });
      watcher.on("error", () => {
        // A replaced watch's late error must not remove the watch of the new directory.
        if (this.#watchers.get(dir) === watcher) this.remove(dir);
        this.#pending.add(dir);
        this.#schedule();
      });
      this.#watchers.set(dir, watcher);
      this.#identities.set(dir, identity);
      return true;
    } catch {
      return false;
    }
  }

  /** Stops watching `dir` and every directory below it. */
  remove(dir: string): void {
    const prefix = dir.endsWith(sep) ? dir : dir + sep;
    for (const [path, watcher] of this.#watchers) {
      if (path === dir || path.startsWith(prefix)) {
        watcher.close();
        this.#watchers.delete(path);
        this.#identities.delete(path);
      }
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
    this.#identities.clear();
  }

  #schedule(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const paths = this.#pending;
      const rescan = this.#rescan;
      this.#pending = new Set();
      this.#rescan = false;
      this.#onChange(rescan ? "rescan" : paths);
    }, this.#debounceMs);
  }
}

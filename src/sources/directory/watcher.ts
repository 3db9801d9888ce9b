// Event-driven watch of a tree: one non-recursive fs.watch (one inotify watch) per directory, not
// per file, so 10,000 files cost a handful of watches. Paths that changed are collected and handed
// over after a short quiet period (a few ms), coalescing bursts; there is no polling.
import { type FSWatcher, watch } from "node:fs";
import { join, sep } from "node:path";

export interface TreeWatcherOptions {
  /** Paths that changed (files or directories, possibly gone); "rescan" when events were lost. */
  onChange: (paths: ReadonlySet<string> | "rescan") => void;
  /** Coalescing delay in ms (at most 20). */
  debounceMs?: number;
}

export class TreeWatcher {
  readonly #watchers = new Map<string, FSWatcher>();
  readonly #onChange: TreeWatcherOptions["onChange"];
  readonly #debounceMs: number;
  #pending = new Set<string>();
  #rescan = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: TreeWatcherOptions) {
    this.#onChange = options.onChange;
    this.#debounceMs = Math.min(20, Math.max(0, options.debounceMs ?? 3));
  }

  get size(): number {
    return this.#watchers.size;
  }

  has(dir: string): boolean {
    return this.#watchers.has(dir);
  }

  /** Watches one directory (its direct entries). Returns false when it cannot be watched. */
  add(dir: string): boolean {
    if (this.#closed || this.#watchers.has(dir)) return true;
    try {
      const watcher = watch(dir, { persistent: true }, (_event, filename) => {
        if (filename === null) this.#rescan = true;
        else this.#pending.add(join(dir, filename.toString()));
        this.#schedule();
      });
      watcher.on("error", () => {
        this.remove(dir);
        this.#pending.add(dir);
        this.#schedule();
      });
      this.#watchers.set(dir, watcher);
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
      }
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
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

// Spare files for replace-files.ts: each file it replaces keeps its old inode (a hard link under a
// temporary name), which becomes a later write's temporary file, instead of being freed by the
// rename while every write allocates a new one. An operator converging a burst rewrites status
// files and event logs thousands of times a second; on ext4 without a journal (as on the machines
// this is benchmarked on) allocating an inode scans past every inode freed in the last 60 s (300 s
// while its inode table block is unwritten: `recently_deleted` in fs/ext4/ialloc.c), which took a
// third of the operator's CPU in `bench/queue-nomad.ts` (docs/benchmarks.md, "Round 7"). Elsewhere
// it still saves an inode's allocation and freeing per write.
//
// - A write into a spare is synced before its rename, and a spare is taken only once the rename
//   that replaced it is synced (its directory), also in a batch without syncs (event logs): else
//   a crash could leave a file renamed from a spare with the spare's old bytes, another file's.
//
// - A spare rests at least REST_MS before its reuse: a reader that opened the old file just
//   before the rename still reads the old bytes (readers also check what they read: record.ts).
// - At most MAX_SPARES are kept; beyond that the old inode is freed by the rename, as before.
// - Spares are named like temporary files (replace-files.ts), so a crash leaves nothing that the
//   next start does not remove (leftovers.ts); release() removes them on a clean close.
// - A file system that refuses hard links turns this off for the directory (the rename frees, as
//   before).
import { linkSync, rmSync } from "node:fs";

export const REST_MS = 250;
export const MAX_SPARES = 4096;

interface Spare {
  readonly path: string;
  readonly since: number;
}

/** Spares by file system (`stat().dev` of their directory): a rename cannot leave its device. */
export class SpareInodes {
  readonly #byDevice = new Map<number, Spare[]>();
  readonly #refused = new Set<string>();
  readonly #max: number;
  readonly #restMs: number;
  #count = 0;

  constructor(options: { max?: number; restMs?: number } = {}) {
    this.#max = options.max ?? MAX_SPARES;
    this.#restMs = options.restMs ?? REST_MS;
  }

  get count(): number {
    return this.#count;
  }

  /** The oldest spare on `device` that has rested long enough, taken out of the pool. */
  take(device: number, now: number): string | undefined {
    const list = this.#byDevice.get(device);
    const first = list?.[0];
    if (!list || !first || now - first.since < this.#restMs) return undefined;
    list.shift();
    this.#count--;
    return first.path;
  }

  /**
   * Links the file at `path` (about to be replaced) as the spare `sparePath` in the same directory;
   * false when none is kept (the pool is full, `path` does not exist yet, or the file system
   * refuses links in `dir`). A kept spare is taken only after add(): once the rename that replaced
   * it is on disk (its directory synced), or a crash could leave `path` naming it with new bytes.
   */
  keep(dir: string, path: string, sparePath: string): boolean {
    if (this.#count >= this.#max || this.#refused.has(dir)) return false;
    try {
      linkSync(path, sparePath);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOENT") this.#refused.add(dir); // EPERM, EMLINK, ENOTSUP: no spares here
      return false;
    }
    this.#count++;
    return true;
  }

  /** A kept spare may be taken from `now` + the rest on. */
  add(device: number, sparePath: string, now: number): void {
    const list = this.#byDevice.get(device) ?? [];
    list.push({ path: sparePath, since: now });
    this.#byDevice.set(device, list);
  }

  /** Undoes keep() (the rename failed, or its directory's sync): the spare is removed. */
  drop(sparePath: string): void {
    this.#count--;
    removeQuietly(sparePath);
  }

  /** Removes every spare (a clean close). */
  release(): void {
    for (const list of this.#byDevice.values()) for (const spare of list) removeQuietly(spare.path);
    this.#byDevice.clear();
    this.#count = 0;
  }
}

export function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // gone already, or its directory: nothing to clean
  }
}

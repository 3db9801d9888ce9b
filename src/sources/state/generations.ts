// Generation counters of file resources: a resource starts at 1 and is bumped when its spec hash
// changes, so a restarted operator sees the same generation for an unchanged spec. Updated in memory
// at once and persisted in batches, as a snapshot and a journal:
// - `generations.json`: every entry, and the epoch of the journal that follows it;
// - `generations.<epoch>.log`: one JSON line per change since (an entry, or a key deleted),
//   appended and synced per batch. A change costs its line, not a rewrite of every entry (at 50,000
//   resources the snapshot is ~6 MB: one edit used to cost ~100 ms of CPU to rewrite it).
// When the journal holds more lines than the snapshot entries (at least 1,024), the batch is written
// as a new snapshot with the next epoch instead, then the old journal is removed: a crash in between
// leaves a journal of an older epoch, which the next open ignores and removes.

import { readdirSync, readFileSync, rmSync } from "node:fs";
import { open, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { isoTime } from "../../api/iso-time.ts";
import { liveKeys } from "../../api/keys.ts";
import type { ResourceKey } from "../../api/resources.ts";
import { ensureDir, syncDir, writeFileAtomic } from "./atomic.ts";
import { FILE_MODE } from "./modes.ts";
import { generationsPath } from "./paths.ts";

export interface GenerationEntry {
  generation: number;
  specHash: string;
  /** First time the resource was seen: its creationTimestamp. */
  created: string;
}

interface GenerationsFile {
  version: 1;
  /** The journal that follows this snapshot (absent: 0, a snapshot of before the journal). */
  epoch?: number;
  resources: Record<string, GenerationEntry>;
}

/** A journal line: the key's entry now, or `null` when it was deleted. */
type JournalLine = [key: string, entry: GenerationEntry | null];

/** Journals shorter than this are never folded into a snapshot (a few hundred KB at most). */
const MIN_FOLD_LINES = 1_024;

export class Generations {
  readonly #path: string;
  readonly #entries = new Map<ResourceKey, GenerationEntry>();
  /** Keys changed since the last batch written (their entries are in #entries, or gone). */
  #changed = new Set<ResourceKey>();
  #epoch = 0;
  /** Lines in the current epoch's journal. */
  #journaled = 0;
  #writing: Promise<void> | undefined;
  #scheduled: NodeJS.Timeout | undefined;
  readonly #readOnly: boolean;

  constructor(stateDir: string, options: { readOnly?: boolean } = {}) {
    this.#path = generationsPath(stateDir);
    this.#readOnly = options.readOnly === true;
    try {
      const file = JSON.parse(readFileSync(this.#path, "utf8")) as GenerationsFile;
      this.#epoch = typeof file.epoch === "number" ? file.epoch : 0;
      for (const [key, entry] of Object.entries(file.resources ?? {})) {
        if (typeof entry?.generation === "number") this.#set(key as ResourceKey, entry);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new Error(`cannot read ${this.#path}: ${(error as Error).message}`, { cause: error });
      }
    }
    this.#replay();
  }

  get(key: ResourceKey): GenerationEntry | undefined {
    return this.#entries.get(key);
  }

  keys(): ResourceKey[] {
    return [...this.#entries.keys()];
  }

  /** The generation for `key` with this spec hash: unchanged, bumped, or 1 for a new resource. */
  observe(key: ResourceKey, hash: string, now: Date): GenerationEntry {
    const current = this.#entries.get(key);
    if (current && current.specHash === hash) {
      current.specHash = hash; // the caller's copy of the same text: one string, not two (read from disk)
      return current;
    }
    const next: GenerationEntry = {
      generation: current ? current.generation + 1 : 1,
      specHash: hash,
      created: current?.created ?? isoTime(now),
    };
    this.#set(key, next);
    this.#markDirty(key);
    return next;
  }

  delete(key: ResourceKey): void {
    if (this.#delete(key)) this.#markDirty(key);
  }

  /** A key that has an entry is held in liveKeys (keys.ts) until the entry goes. */
  #set(key: ResourceKey, entry: GenerationEntry): void {
    if (this.#entries.has(key)) this.#entries.set(key, entry);
    else this.#entries.set(liveKeys.hold(key), entry);
  }

  #delete(key: ResourceKey): boolean {
    if (!this.#entries.delete(key)) return false;
    liveKeys.release(key);
    return true;
  }

  /** Writes pending changes; resolves when everything observed so far is on disk. */
  async flush(): Promise<void> {
    if (this.#readOnly) return;
    for (let round = 0; round < 100 && (this.#changed.size > 0 || this.#writing); round++) {
      if (this.#writing) {
        await this.#writing;
        continue;
      }
      const batch = this.#changed;
      this.#changed = new Set();
      this.#writing = this.#write(batch)
        .catch((error: unknown) => {
          for (const key of batch) this.#changed.add(key); // written with the next batch
          throw error;
        })
        .finally(() => {
          this.#writing = undefined;
        });
      await this.#writing;
    }
  }

  close(): Promise<void> {
    if (this.#scheduled) clearTimeout(this.#scheduled);
    this.#scheduled = undefined;
    return this.flush();
  }

  /** The journal of `epoch`. */
  #journal(epoch: number): string {
    return join(dirname(this.#path), `generations.${epoch}.log`);
  }

  /** Applies this epoch's journal; removes journals of other epochs (left by a crash mid-fold). */
  #replay(): void {
    let text = "";
    try {
      text = readFileSync(this.#journal(this.#epoch), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new Error(`cannot read ${this.#journal(this.#epoch)}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    for (const line of text.split("\n")) {
      if (!line) continue;
      let parsed: JournalLine;
      try {
        parsed = JSON.parse(line) as JournalLine;
      } catch {
        // The last line of a crashed append, torn (its batch was never acknowledged): nothing may be
        // appended after it, so the next batch folds everything into a new snapshot.
        this.#journaled = Number.POSITIVE_INFINITY;
        break;
      }
      const [key, entry] = parsed;
      if (entry === null) this.#delete(key as ResourceKey);
      else if (typeof entry?.generation === "number") this.#set(key as ResourceKey, entry);
      this.#journaled++;
    }
    if (this.#readOnly) return;
    const current = basename(this.#journal(this.#epoch));
    let names: string[] = [];
    try {
      names = readdirSync(dirname(this.#path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error; // a new state directory
    }
    for (const name of names) {
      if (/^generations\.\d+\.log$/.test(name) && name !== current)
        rmSync(join(dirname(this.#path), name), { force: true });
    }
  }

  /** Appends `batch` to the journal, or folds everything into a new snapshot when it is long. */
  async #write(batch: ReadonlySet<ResourceKey>): Promise<void> {
    if (this.#journaled + batch.size > Math.max(MIN_FOLD_LINES, this.#entries.size)) {
      const previous = this.#journal(this.#epoch);
      const file: GenerationsFile = {
        version: 1,
        epoch: this.#epoch + 1,
        resources: Object.fromEntries(this.#entries),
      };
      await writeFileAtomic(this.#path, `${JSON.stringify(file)}\n`);
      this.#epoch++;
      this.#journaled = 0;
      await rm(previous, { force: true });
      return;
    }
    let lines = "";
    for (const key of batch)
      lines += `${JSON.stringify([key, this.#entries.get(key) ?? null] satisfies JournalLine)}\n`;
    const path = this.#journal(this.#epoch);
    await ensureDir(dirname(path));
    const handle = await open(path, "a", FILE_MODE);
    try {
      await handle.write(lines);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    if (this.#journaled === 0) await syncDir(dirname(path)); // the journal's own name, once
    this.#journaled += batch.size;
  }

  /** Trailing debounce: a burst of observations (a full read) becomes one write after it. */
  #markDirty(key: ResourceKey): void {
    this.#changed.add(key);
    if (this.#readOnly) return;
    if (this.#scheduled) clearTimeout(this.#scheduled);
    this.#scheduled = setTimeout(() => {
      this.#scheduled = undefined;
      this.flush().catch(() => {});
    }, 50);
    this.#scheduled.unref();
  }
}

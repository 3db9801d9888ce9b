// Generation counters of file resources, kept in `generations.json`: a resource starts at 1 and is
// bumped when its spec hash changes, so a restarted operator sees the same generation for an
// unchanged spec. Updated in memory at once and persisted (atomically) in batches.
import { readFileSync } from "node:fs";
import type { ResourceKey } from "../../api/resources.ts";
import { writeFileAtomic } from "./atomic.ts";
import { generationsPath } from "./paths.ts";

export interface GenerationEntry {
  generation: number;
  specHash: string;
  /** First time the resource was seen: its creationTimestamp. */
  created: string;
}

interface GenerationsFile {
  version: 1;
  resources: Record<string, GenerationEntry>;
}

export class Generations {
  readonly #path: string;
  readonly #entries = new Map<ResourceKey, GenerationEntry>();
  #dirty = false;
  #writing: Promise<void> | undefined;
  #scheduled: NodeJS.Timeout | undefined;
  readonly #readOnly: boolean;

  constructor(stateDir: string, options: { readOnly?: boolean } = {}) {
    this.#path = generationsPath(stateDir);
    this.#readOnly = options.readOnly === true;
    try {
      const file = JSON.parse(readFileSync(this.#path, "utf8")) as GenerationsFile;
      for (const [key, entry] of Object.entries(file.resources ?? {})) {
        if (typeof entry?.generation === "number") this.#entries.set(key as ResourceKey, entry);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new Error(`cannot read ${this.#path}: ${(error as Error).message}`, { cause: error });
      }
    }
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
    if (current && current.specHash === hash) return current;
    const next: GenerationEntry = {
      generation: current ? current.generation + 1 : 1,
      specHash: hash,
      created: current?.created ?? now.toISOString(),
    };
    this.#entries.set(key, next);
    this.#markDirty();
    return next;
  }

  delete(key: ResourceKey): void {
    if (this.#entries.delete(key)) this.#markDirty();
  }

  /** Writes pending changes; resolves when everything observed so far is on disk. */
  async flush(): Promise<void> {
    if (this.#readOnly) return;
    for (let round = 0; round < 100 && (this.#dirty || this.#writing); round++) {
      if (this.#writing) {
        await this.#writing;
        continue;
      }
      this.#dirty = false;
      const file: GenerationsFile = { version: 1, resources: Object.fromEntries(this.#entries) };
      this.#writing = writeFileAtomic(this.#path, `${JSON.stringify(file)}\n`).finally(() => {
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

  /** Trailing debounce: a burst of observations (a full read) becomes one write after it. */
  #markDirty(): void {
    this.#dirty = true;
    if (this.#readOnly) return;
    if (this.#scheduled) clearTimeout(this.#scheduled);
    this.#scheduled = setTimeout(() => {
      this.#scheduled = undefined;
      this.flush().catch(() => {
        this.#dirty = true;
      });
    }, 50);
    this.#scheduled.unref();
  }
}

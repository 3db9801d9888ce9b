// Write-behind for files rewritten often (status records): writes are kept in memory (the latest per
// path wins) and flushed in batches after `delayMs`, or at once when `maxPending` are waiting, each
// file atomically with one directory fsync per batch (batch.ts). A batch holds at most `maxPending`
// files (each an open descriptor and a data sync under way until renamed): while a slow disk syncs
// one, the writes that arrive wait as strings, and the next batches take them in turn. A crash loses at most the last
// batch's updates, never a file (each is old or new); close() flushes everything. Failed files stay
// queued (unless superseded) and are retried with the next batch.
import { type BatchOptions, writeFilesAtomic } from "./batch.ts";

export interface WriteBehindOptions extends BatchOptions {
  /** How long a write may wait for others to join its batch (default 50 ms). */
  delayMs?: number;
  /**
   * Flush at once when this many files are waiting, and write at most this many per batch (default
   * 256: each holds a descriptor until renamed).
   */
  maxPending?: number;
  /** Awaited before each batch is written (e.g. generations that status records refer to). */
  before?: () => Promise<void>;
  /** Called with the files of a batch that could not be written (they are retried). */
  onError?: (path: string, error: unknown) => void;
}

export class WriteBehind {
  readonly #options: WriteBehindOptions;
  #pending = new Map<string, string>();
  /** The batch being written (still the newest content of its paths until renamed). */
  #inFlight = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  /** A flush is queued or under way (a full queue does not queue another). */
  #draining = false;
  #written = 0;

  constructor(options: WriteBehindOptions = {}) {
    this.#options = options;
  }

  /** Files written so far (for tests and benchmarks). */
  get written(): number {
    return this.#written;
  }

  write(path: string, data: string): void {
    this.#pending.set(path, data);
    if (this.#pending.size >= this.#max) {
      if (!this.#draining) void this.flush().catch(() => {});
      return;
    }
    if (!this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.flush().catch(() => {});
      }, this.#options.delayMs ?? 50);
    }
  }

  /** What `path` holds once pending writes land (undefined: nothing pending for it). */
  pending(path: string): string | undefined {
    return this.#pending.get(path) ?? this.#inFlight.get(path);
  }

  /** Drops a pending write and waits for the batch in flight (then nothing recreates `path`). */
  async cancel(path: string): Promise<void> {
    this.#pending.delete(path);
    await this.#flushing;
  }

  /** Writes everything pending now, in batches; resolves when it is on disk (or failed and was re-queued). */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#draining = true;
    const run = this.#flushing.then(async () => {
      // Everything pending when the flush starts, and what joined it meanwhile up to one more batch.
      for (let rounds = Math.ceil(this.#pending.size / this.#max) + 1; rounds > 0; rounds--) {
        // Failed files are queued again: they wait for the retry timer, not for this loop.
        if (this.#pending.size === 0 || (await this.#writeBatch()) > 0) break;
      }
    });
    const done = run.catch(() => {});
    this.#flushing = done;
    void done.then(() => {
      if (this.#flushing !== done) return; // another flush is queued behind this one
      this.#draining = false;
      if (this.#pending.size >= this.#max) void this.flush().catch(() => {});
    });
    return run;
  }

  get #max(): number {
    return Math.max(1, this.#options.maxPending ?? 256);
  }

  close(): Promise<void> {
    return this.flush();
  }

  /** Writes one batch; returns how many of its files failed. */
  async #writeBatch(): Promise<number> {
    if (this.#pending.size === 0) return 0;
    await this.#options.before?.();
    let batch = this.#pending;
    if (batch.size <= this.#max) this.#pending = new Map();
    else {
      batch = new Map();
      for (const [path, data] of this.#pending) {
        batch.set(path, data);
        this.#pending.delete(path);
        if (batch.size >= this.#max) break;
      }
    }
    this.#inFlight = batch;
    try {
      const failures = await writeFilesAtomic(batch, this.#options);
      this.#written += batch.size - failures.length;
      for (const { path, error } of failures) {
        this.#options.onError?.(path, error);
        const data = batch.get(path);
        if (data !== undefined && !this.#pending.has(path)) this.#pending.set(path, data);
      }
      if (failures.length > 0 && !this.#timer) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          void this.flush().catch(() => {});
        }, 1000);
        this.#timer.unref();
      }
      return failures.length;
    } finally {
      this.#inFlight = new Map();
    }
  }
}

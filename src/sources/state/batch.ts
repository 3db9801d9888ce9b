// Many small files replaced at once, each atomically (temporary file, data synced, rename over the
// target), with one directory fsync per directory per batch instead of one per file. The work runs
// in the state I/O worker (io-worker.ts, replace-files.ts), off the operator's main thread, whose
// opens and renames waited behind the journal commits of the data syncs. A crash leaves each file
// old or new, never torn.
import { type BatchFailure, writeInWorker } from "./io-worker.ts";

export type { BatchFailure } from "./io-worker.ts";

export interface BatchOptions {
  /** Sync file data before the rename and each directory after it (default true). */
  durable?: boolean;
}

/**
 * Writes every `[path, data]`; resolves with the files that could not be written (none: []), each
 * with its error (`code` kept: ENOSPC, EACCES), or StateWorkerExitedError if the worker died.
 */
export function writeFilesAtomic(
  entries: Iterable<readonly [string, string]>,
  options: BatchOptions = {},
): Promise<BatchFailure[]> {
  return writeInWorker(Array.from(entries), options.durable ?? true);
}

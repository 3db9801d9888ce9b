// How `mlopsctl run`'s state directory writes use the process's threads (io-worker.ts): the state
// I/O worker runs below the loop's CPU priority (background-priority.ts), and a batch of a few files
// is written by the operator's own thread unless the worker is busy, so an operator whose writes
// come a few at a time lets its worker end (MLOPS_STATE_INLINE_FILES; docs/state-directory.md).
// `run --once` writes every batch itself: it has no loop to keep responsive while it writes (no
// queue waiting for an admission, no edit waiting for its register), and the worker's isolate and
// the copy of each batch it is sent cost memory for no CPU saved (10,000 new jobs: peak RSS
// 225-227 -> 197-201 MB, the same CPU per job, wall 6.0 -> 6.4 s; docs/benchmarks.md, round 22).
import { runIoWorkerInBackground, setInThreadFiles } from "../../sources/state/index.ts";
import { EXIT, ExitError } from "../exit.ts";

/** The default of MLOPS_STATE_INLINE_FILES for a watching operator. */
export const INLINE_STATE_FILES = 4;

/** Sets both for this process (the CLI's `run`, not a library caller of run()); `once`: `run --once`. */
export function configureStateIo(env: NodeJS.ProcessEnv, once = false): void {
  const inline = inlineStateFiles(env, once);
  runIoWorkerInBackground(true);
  setInThreadFiles(inline);
}

/**
 * MLOPS_STATE_INLINE_FILES: status and event batches of at most this many files are written by the
 * operator's own thread unless the state I/O worker is busy (0: always the worker). Its default is 4,
 * and every batch (no worker) for `run --once`.
 */
export function inlineStateFiles(env: NodeJS.ProcessEnv, once = false): number {
  const value = env.MLOPS_STATE_INLINE_FILES;
  if (value === undefined || value === "") return once ? Number.POSITIVE_INFINITY : INLINE_STATE_FILES;
  if (!/^\d{1,6}$/.test(value)) {
    throw new ExitError(
      EXIT.usage,
      `MLOPS_STATE_INLINE_FILES must be a number of files (0 or more), not ${JSON.stringify(value)}`,
    );
  }
  return Number(value);
}

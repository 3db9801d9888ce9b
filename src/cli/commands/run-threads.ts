// How `mlopsctl run`'s state directory writes use the process's threads (io-worker.ts): the state
// I/O worker runs below the loop's CPU priority (background-priority.ts), and a batch of a few files
// is written by the operator's own thread unless the worker is busy, so an operator whose writes
// come a few at a time lets its worker end (MLOPS_STATE_INLINE_FILES; docs/state-directory.md).
import { runIoWorkerInBackground, setInThreadFiles } from "../../sources/state/index.ts";
import { EXIT, ExitError } from "../exit.ts";

/** The default of MLOPS_STATE_INLINE_FILES. */
export const INLINE_STATE_FILES = 4;

/** Sets both for this process (the CLI's `run`, not a library caller of run()). */
export function configureStateIo(env: NodeJS.ProcessEnv): void {
  const inline = inlineStateFiles(env);
  runIoWorkerInBackground(true);
  setInThreadFiles(inline);
}

/**
 * MLOPS_STATE_INLINE_FILES: status and event batches of at most this many files are written by the
 * operator's own thread unless the state I/O worker is busy (default 4; 0: always the worker).
 */
export function inlineStateFiles(env: NodeJS.ProcessEnv): number {
  const value = env.MLOPS_STATE_INLINE_FILES;
  if (value === undefined || value === "") return INLINE_STATE_FILES;
  if (!/^\d{1,6}$/.test(value)) {
    throw new ExitError(
      EXIT.usage,
      `MLOPS_STATE_INLINE_FILES must be a number of files (0 or more), not ${JSON.stringify(value)}`,
    );
  }
  return Number(value);
}

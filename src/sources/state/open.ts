// Opening the state directory for `run`: take the lock, then (under it, so no live writer is
// affected) remove what a killed writer left and check the format, upgrading an older one.
import { ensureFormat, type FormatCheck } from "./format.ts";
import { removeLeftovers } from "./leftovers.ts";
import { acquireLock, type LockOptions, type StateLock } from "./lock.ts";

export interface OpenedState {
  readonly lock: StateLock;
  /** Temporary files and stale locks removed. */
  readonly leftovers: readonly string[];
  readonly format: FormatCheck;
}

export async function openStateDir(stateDir: string, options: LockOptions = {}): Promise<OpenedState> {
  const lock = await acquireLock(stateDir, options);
  try {
    const leftovers = await removeLeftovers(stateDir);
    const format = await ensureFormat(stateDir);
    return { lock, leftovers, format };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

// Files a killed writer leaves behind in the state directory: temporary files of atomic writes
// (`.<name>.<pid>.<n>.tmp`, never renamed over their target) and a stale lock moved aside during a
// takeover (`lock.stale.<pid>.<n>`). Removed at start-up, under the lock, so no live writer owns
// them; nothing else is touched.
import type { Dirent } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";

/** `.<name>.<pid>.<random or t<thread>n<counter>>.tmp`: the names atomic.ts and replace-files.ts give temporary files. */
const TEMP = /^\..+\.\d+\.[0-9a-z]+\.tmp$/;
const STALE_LOCK = /^lock\.stale\.\d+\.\d+$/;

/** Removes leftovers anywhere under `stateDir`; resolves with the paths removed. */
export async function removeLeftovers(stateDir: string): Promise<string[]> {
  const removed: string[] = [];
  const walk = async (dir: string, top: boolean): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path, false);
      else if (TEMP.test(entry.name) || (top && STALE_LOCK.test(entry.name))) {
        await rm(path, { force: true });
        removed.push(path);
      }
    }
  };
  await walk(stateDir, true);
  return removed;
}

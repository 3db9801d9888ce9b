// File modes of the state directory: it holds status records, events and generations, which may
// name secret references and carry run details, so only the operator's user reads it. Files are
// created 0600 and directories 0700 (atomic.ts, replace-files.ts); secureStateDir repairs a directory made by
// an older version or by hand when the operator starts.
import { chmodSync, lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";

export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

/** Sets the state directory and everything under it to 0700 / 0600; symbolic links are left alone. Returns how many it changed. */
export function secureStateDir(stateDir: string): number {
  let changed = 0;
  const visit = (path: string): void => {
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (!stat || stat.isSymbolicLink()) return;
    const want = stat.isDirectory() ? DIR_MODE : FILE_MODE;
    if ((stat.mode & 0o777) !== want) {
      chmodSync(path, want);
      changed++;
    }
    if (stat.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(stateDir);
  return changed;
}

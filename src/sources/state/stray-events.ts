// Event logs of resources nothing declares or records: no file of the directory (the source's first
// complete, clean read says "absent"), no status record. Binaries before 2026-12-05 left a deleted
// resource's log behind (its finalizer's last events were written after the log was removed), and
// nothing reads such a log again: `describe` and the status page start from status records. Removed
// under the state directory's lock, only in directory mode (with the Kubernetes source, status lives
// on the cluster and the state directory holds no status records to tell by).
import type { Dirent } from "node:fs";
import { existsSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { KINDS } from "../../api/kinds.ts";
import { checkLabel } from "../../api/names.ts";
import { makeKey, type ResourceKey } from "../../api/resources.ts";
import { statusPath } from "./paths.ts";

const LOG = ".jsonl";

/** Removes `events/<kind>/<namespace>/<name>.jsonl` of keys not `declared` and without a status record; the paths removed. */
export async function removeStrayEventLogs(
  stateDir: string,
  declared: (key: ResourceKey) => boolean,
): Promise<string[]> {
  const removed: string[] = [];
  for (const kind of KINDS) {
    const kindDir = join(stateDir, "events", kind.toLowerCase());
    for (const namespace of await folders(kindDir)) {
      if (checkLabel(namespace) !== undefined) continue; // not a name the operator writes: left alone
      const dir = join(kindDir, namespace);
      for (const entry of await entries(dir)) {
        if (!entry.isFile() || !entry.name.endsWith(LOG)) continue;
        const name = entry.name.slice(0, -LOG.length);
        if (checkLabel(name) !== undefined) continue;
        const key = makeKey(kind, namespace, name);
        if (declared(key) || existsSync(statusPath(stateDir, key))) continue;
        const path = join(dir, entry.name);
        await rm(path, { force: true });
        removed.push(path);
      }
    }
  }
  return removed;
}

async function entries(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

async function folders(dir: string): Promise<string[]> {
  return (await entries(dir)).filter((e) => e.isDirectory()).map((e) => e.name);
}

// The operator's state directory as a benchmark sees it: how many status files exist, and which
// files a run changed (inode, size or mtime: writes are atomic renames, so a rewrite is a new inode).
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function walk(dir: string, into: string[]): string[] {
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return into;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, into);
    else if (entry.isFile()) into.push(path);
  }
  return into;
}

export function statusFiles(stateDir: string): string[] {
  return walk(join(stateDir, "status"), []).filter((f) => f.endsWith(".json"));
}

/** path → "inode:size:mtime" of every file in the state directory (lock file aside). */
export function snapshot(stateDir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of walk(stateDir, [])) {
    if (file.endsWith("/lock")) continue;
    const st = statSync(file, { bigint: true });
    out.set(file, `${st.ino}:${st.size}:${st.mtimeNs}`);
  }
  return out;
}

/** Files created, changed or removed between two snapshots, grouped by top folder (status, events, ...). */
export function changedFiles(
  before: Map<string, string>,
  after: Map<string, string>,
  root: string,
): Map<string, number> {
  const groups = new Map<string, number>();
  const bump = (file: string) => {
    const group = file.slice(root.length + 1).split("/")[0] ?? "?";
    groups.set(group, (groups.get(group) ?? 0) + 1);
  };
  for (const [file, print] of after) if (before.get(file) !== print) bump(file);
  for (const file of before.keys()) if (!after.has(file)) bump(file);
  return groups;
}

// Lists the .yaml/.yml files of a tree: recursive, skipping dot-directories and dot-files, following
// symbolic links to directories once (a link back up the tree is a loop and is skipped).
import type { Dirent } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { join } from "node:path";

export const isYamlFile = (name: string): boolean =>
  !name.startsWith(".") && (name.endsWith(".yaml") || name.endsWith(".yml"));

export interface Tree {
  files: string[];
  directories: string[];
}

/** Bounded: at most `maxEntries` files and directories (a runaway tree is cut, not followed forever). */
export async function walkTree(root: string, maxEntries = 1_000_000): Promise<Tree> {
  const out: Tree = { files: [], directories: [] };
  const seen = new Set<string>();
  const stack = [root];
  while (stack.length > 0 && out.files.length + out.directories.length < maxEntries) {
    const dir = stack.pop() as string;
    let real: string;
    let entries: Dirent[];
    try {
      real = await realpath(dir);
      if (seen.has(real)) continue;
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    seen.add(real);
    out.directories.push(dir);
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) stack.push(path);
      else if (entry.isFile()) {
        if (isYamlFile(entry.name)) out.files.push(path);
      } else if (entry.isSymbolicLink()) {
        const target = await stat(path).catch(() => undefined);
        if (target?.isDirectory()) stack.push(path);
        else if (target?.isFile() && isYamlFile(entry.name)) out.files.push(path);
      }
    }
  }
  out.files.sort();
  return out;
}

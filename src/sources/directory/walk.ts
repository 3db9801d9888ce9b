// Lists the .yaml/.yml entries of a tree: recursive, skipping dot-directories, dot-files and what
// `.mlopsignore` names. Every entry named like a YAML file is listed whatever it is (a directory,
// FIFO, socket, device, symbolic link): the reader reports those as unreadable, so they block
// pruning. Symbolic links to directories are followed once when they stay inside the tree (a link
// back up the tree is a loop and is skipped; a link out of the tree is not followed).
import type { Dirent } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { join } from "node:path";
import { IgnoreRules } from "./ignore-file.ts";
import { isWithin, isYamlFile } from "./paths.ts";

export interface Tree {
  files: string[];
  directories: string[];
}

export interface WalkOptions {
  /** The tree's root when walking a subdirectory (default: the walked directory). */
  root?: string;
  /** `.mlopsignore` rules (default: read from the root). */
  ignore?: IgnoreRules;
  /** At most this many files and directories (a runaway tree is cut, not followed forever). */
  maxEntries?: number;
}

export async function walkTree(dir: string, options: WalkOptions = {}): Promise<Tree> {
  const out: Tree = { files: [], directories: [] };
  const maxEntries = options.maxEntries ?? 1_000_000;
  const root = await realpath(options.root ?? dir).catch(() => options.root ?? dir);
  const rules = options.ignore ?? IgnoreRules.load(options.root ?? dir);
  const seen = new Set<string>();
  const stack = [dir];
  while (stack.length > 0 && out.files.length + out.directories.length < maxEntries) {
    const current = stack.pop() as string;
    let real: string;
    let entries: Dirent[];
    try {
      real = await realpath(current);
      if (seen.has(real) || !isWithin(root, real)) continue;
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      continue;
    }
    seen.add(real);
    out.directories.push(current);
    // join(current, name) for every entry, normalized once per directory: a name read from a
    // directory has no slash and is never `.` or `..`.
    const prefix = join(current, "x").slice(0, -1);
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      const path = prefix + entry.name;
      const yaml = isYamlFile(entry.name);
      if (yaml) {
        if (!rules.ignores(path, entry.isDirectory())) out.files.push(path);
        continue;
      }
      if (entry.isDirectory()) {
        if (!rules.ignores(path, true)) stack.push(path);
      } else if (entry.isSymbolicLink()) {
        const target = await stat(path).catch(() => undefined);
        if (target?.isDirectory() && !rules.ignores(path, true)) stack.push(path);
      }
    }
  }
  out.files.sort();
  return out;
}

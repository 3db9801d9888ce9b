// Small file-system facts the directory source asks about paths (no reading of contents here).
import { realpathSync, statSync } from "node:fs";
import { basename, relative, resolve, sep } from "node:path";
import { isYamlFile } from "./walk.ts";

/** Identity and version of a file's contents: inode, size and change times (nanoseconds). */
export function signature(file: string): string | undefined {
  try {
    const s = statSync(file, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return undefined;
  }
}

export function realOrResolved(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return resolve(dir);
  }
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Inside the tree and not below a dot-directory. */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== "" && !rel.startsWith("..") && !rel.split(sep).some((p) => p.startsWith("."));
}

/** A YAML file inside the tree, not below a dot-directory. */
export function isYamlPath(root: string, path: string): boolean {
  return isInside(root, path) && isYamlFile(basename(path));
}

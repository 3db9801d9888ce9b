// Small file-system facts the directory source asks about paths (no reading of contents here).
import { type BigIntStats, realpathSync, statSync } from "node:fs";
import { basename, isAbsolute, relative, resolve, sep } from "node:path";
import { messageOf } from "../../api/errors.ts";

/** Named like a resource file: `*.yaml` or `*.yml`, not a dot-file. */
export const isYamlFile = (name: string): boolean =>
  !name.startsWith(".") && (name.endsWith(".yaml") || name.endsWith(".yml"));

/** Identity and version of a file's contents: inode, size and change times (nanoseconds). */
export function signature(file: string): string | undefined {
  try {
    const s = statSync(file, { bigint: true, throwIfNoEntry: false });
    return s ? signatureOf(s) : undefined;
  } catch {
    return undefined; // ENOTDIR, EACCES: nothing readable there either
  }
}

/**
 * One flat string (`join`; a template makes a rope of four parts: 208 B kept per file, against 72),
 * its numbers in base 36 and the change time left out when it is the modification time (most files):
 * `ino:size:mtime[:ctime]`, 40 bytes kept per file instead of 64 in decimal (docs/benchmarks.md,
 * round 30). Compared only with signatures this process made.
 */
export const signatureOf = (s: BigIntStats): string =>
  (s.ctimeNs === s.mtimeNs ? [s.ino, s.size, s.mtimeNs] : [s.ino, s.size, s.mtimeNs, s.ctimeNs])
    .map((n) => n.toString(36))
    .join(":");

export function realOrResolved(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return resolve(dir);
  }
}

/** Why `path` cannot be read as a directory of resources ("does not exist", ...), or undefined. */
export function notADirectory(path: string): string | undefined {
  try {
    return statSync(path).isDirectory() ? undefined : "is not a directory";
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? "does not exist" : `cannot be read (${code ?? messageOf(error)})`;
  }
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** `path` is `root` or lies below it (both real paths). */
export function isWithin(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
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

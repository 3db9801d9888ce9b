// Reads one file for the directory source: bounded (never more than MAX_FILE_BYTES + 1 bytes).
// Synchronous on purpose: resource files are small and in the page cache, and one open/fstat/read/
// close in a row costs microseconds where four thread-pool round trips cost far more.
// Only regular files inside the tree are opened: a directory, FIFO, socket or device named like a
// YAML file, or a symbolic link that dangles, loops or leads out of the tree, is reported unreadable
// (a file issue) without being opened, so it blocks pruning instead of reading as a deletion.
import {
  type BigIntStats,
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  realpathSync,
  type Stats,
} from "node:fs";
import { type FileLoad, type LocatedIssue, loadBytes, MAX_FILE_BYTES } from "../yaml/index.ts";
import { isWithin, signatureOf } from "./paths.ts";

/**
 * The file's load, or `undefined` when nothing is there (ENOENT, ENOTDIR). `root`: the tree's real
 * path; a symbolic link whose target lies outside it is not followed.
 */
export function readYamlFile(
  path: string,
  file: string = path,
  root?: string,
  onSignature?: (signature: string) => void,
): FileLoad | undefined {
  let target = path;
  let flags = constants.O_RDONLY | constants.O_NONBLOCK;
  try {
    const link = lstatSync(path);
    if (link.isSymbolicLink()) {
      const resolved = resolveLink(path, root);
      if (typeof resolved !== "string") return unreadable(file, resolved.problem);
      target = resolved;
    } else {
      const kind = notAFile(link);
      if (kind) return unreadable(file, kind);
      // The entry checked above is the one opened: a link swapped in meanwhile fails with ELOOP.
      flags |= constants.O_NOFOLLOW;
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    return unreadable(file, `cannot read file: ${(error as Error).message}`);
  }
  let fd: number;
  try {
    fd = openSync(target, flags);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if ((code === "ENOENT" || code === "ENOTDIR") && target === path) return undefined;
    return unreadable(file, `cannot read file: ${(error as Error).message}`);
  }
  try {
    // The file opened is the one read: its signature (paths.ts) from this fstat saves a stat.
    const stat = fstatSync(fd, { bigint: true });
    onSignature?.(signatureOf(stat));
    const kind = notAFile(stat);
    if (kind) return unreadable(file, kind);
    const size = Number(stat.size);
    if (size > MAX_FILE_BYTES) {
      const head = Buffer.alloc(64 * 1024);
      const bytesRead = readSync(fd, head, 0, head.length, 0);
      const message = `file is ${size} bytes, more than the limit of ${MAX_FILE_BYTES} (4 MiB)`;
      const ours = head.subarray(0, bytesRead).toString("latin1").includes("mlops.dev");
      return { file, documents: [], fileIssues: [{ file, line: 1, col: 1, message }], skipped: 0, ours };
    }
    const buffer = Buffer.allocUnsafe(Math.min(size + 1, MAX_FILE_BYTES + 1));
    let length = 0;
    for (let i = 0; i < 1024 && length < buffer.length; i++) {
      const bytesRead = readSync(fd, buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return loadBytes(file, buffer.subarray(0, length));
  } catch (error) {
    return unreadable(file, `cannot read file: ${(error as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

/** The link's real target when it is a usable one, else why not. */
function resolveLink(path: string, root: string | undefined): string | { problem: string } {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return { problem: "symbolic link to nothing (dangling)" };
    if (code === "ELOOP") return { problem: "symbolic link loop" };
    return { problem: `cannot follow symbolic link: ${(error as Error).message}` };
  }
  if (root !== undefined && !isWithin(root, real)) {
    return { problem: `symbolic link leads out of the tree (to ${real}): not read` };
  }
  try {
    const kind = notAFile(lstatSync(real));
    return kind ? { problem: `symbolic link whose target ${kind}` } : real;
  } catch (error) {
    return { problem: `cannot follow symbolic link: ${(error as Error).message}` };
  }
}

/** Why an entry is not a regular file (`is a FIFO …`), or undefined when it is one. */
function notAFile(stat: Stats | BigIntStats): string | undefined {
  if (stat.isFile()) return undefined;
  if (stat.isDirectory()) return "is a directory, not a file";
  if (stat.isFIFO()) return "is a FIFO (named pipe), not a file: not opened";
  if (stat.isSocket()) return "is a socket, not a file: not opened";
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return "is a device, not a file: not opened";
  return "is not a regular file";
}

function unreadable(file: string, message: string): FileLoad {
  const issue: LocatedIssue = { file, line: 1, col: 1, message: `unreadable: ${message}` };
  return { file, documents: [], fileIssues: [issue], skipped: 0, ours: false };
}

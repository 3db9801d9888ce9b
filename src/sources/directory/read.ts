// Reads one file for the directory source: bounded (never more than MAX_FILE_BYTES + 1 bytes).
// Synchronous on purpose: resource files are small and in the page cache, and one open/fstat/read/
// close in a row costs microseconds where four thread-pool round trips cost far more.
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { type FileLoad, loadBytes, MAX_FILE_BYTES } from "../yaml/index.ts";

/** The file's load, or `undefined` when it does not exist (ENOENT, ENOTDIR) or is not a file. */
export function readYamlFile(path: string, file: string = path): FileLoad | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO named like a YAML file must not hang the reader (it is then refused as not a file).
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    return unreadable(file, error);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return undefined;
    if (stat.size > MAX_FILE_BYTES) {
      const head = Buffer.alloc(64 * 1024);
      const bytesRead = readSync(fd, head, 0, head.length, 0);
      const message = `file is ${stat.size} bytes, more than the limit of ${MAX_FILE_BYTES} (4 MiB)`;
      const ours = head.subarray(0, bytesRead).toString("latin1").includes("mlops.dev");
      return { file, documents: [], fileIssues: [{ file, line: 1, col: 1, message }], skipped: 0, ours };
    }
    const buffer = Buffer.allocUnsafe(Math.min(stat.size + 1, MAX_FILE_BYTES + 1));
    let length = 0;
    for (let i = 0; i < 1024 && length < buffer.length; i++) {
      const bytesRead = readSync(fd, buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return loadBytes(file, buffer.subarray(0, length));
  } catch (error) {
    return unreadable(file, error);
  } finally {
    closeSync(fd);
  }
}

function unreadable(file: string, error: unknown): FileLoad {
  const message = `cannot read file: ${(error as Error).message}`;
  return { file, documents: [], fileIssues: [{ file, line: 1, col: 1, message }], skipped: 0, ours: true };
}

// Many small files replaced at once, each atomically (temporary file, data synced, rename over the
// target), with one directory fsync per directory per batch instead of one per file. Runs in the
// state I/O worker (io-worker-thread.ts), whose thread does nothing else: opens, writes and renames
// are synchronous (small files in the page cache; on ext4 an open or a rename can wait behind the
// journal commits the data syncs cause, which would stall the operator's main thread); the data
// syncs go to the thread pool all at once, so the disk commits them together. A crash leaves each
// file old or new, never torn.
import { closeSync, fdatasync, fsync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { threadId } from "node:worker_threads";
import { DIR_MODE, FILE_MODE } from "./modes.ts";

export interface FileFailure {
  readonly path: string;
  readonly error: unknown;
}

let counter = 0;
const madeDirs = new Set<string>();

/**
 * `.<name>.<pid>.t<thread>n<counter>.tmp` (leftovers.ts removes them after a crash): a worker that
 * replaces a dead one has a new thread id, so it never meets a name the dead one left.
 */
function tempName(dir: string, path: string): string {
  return join(dir, `.${basename(path)}.${process.pid}.t${threadId}n${(counter++).toString(36)}.tmp`);
}

/** Writes every `[path, data]`; resolves with the files that could not be written (none: []). */
export async function replaceFiles(
  entries: Iterable<readonly [string, string]>,
  durable: boolean,
): Promise<FileFailure[]> {
  const failures: FileFailure[] = [];
  const open: { path: string; temp: string; fd: number }[] = [];
  for (const [path, data] of entries) {
    const dir = dirname(path);
    const temp = tempName(dir, path);
    let fd: number | undefined;
    try {
      if (!madeDirs.has(dir)) {
        mkdirSync(dir, { recursive: true, mode: DIR_MODE });
        madeDirs.add(dir);
      }
      try {
        fd = openSync(temp, "wx", FILE_MODE);
      } catch (error) {
        // The directory went away since it was made (removed by hand): make it again, once.
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        mkdirSync(dir, { recursive: true, mode: DIR_MODE });
        fd = openSync(temp, "wx", FILE_MODE);
      }
      writeAll(fd, data);
      open.push({ path, temp, fd });
    } catch (error) {
      madeDirs.delete(dir);
      if (fd !== undefined) closeSync(fd);
      removeQuietly(temp);
      failures.push({ path, error });
    }
  }
  const synced = durable
    ? await Promise.all(open.map((f) => callback(fdatasync, f.fd)))
    : open.map(() => undefined);
  const dirs = new Set<string>();
  for (let i = 0; i < open.length; i++) {
    const f = open[i] as (typeof open)[number];
    try {
      closeSync(f.fd);
      const error = synced[i];
      if (error) throw error;
      renameSync(f.temp, f.path);
      dirs.add(dirname(f.path));
    } catch (error) {
      removeQuietly(f.temp);
      failures.push({ path: f.path, error });
    }
  }
  if (durable) {
    await Promise.all(
      [...dirs].map(async (dir) => {
        const error = await syncDir(dir);
        if (error) failures.push({ path: dir, error });
      }),
    );
  }
  return failures;
}

function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // nothing was created there (ENOTDIR, EACCES): nothing to clean
  }
}

function writeAll(fd: number, data: string): void {
  // A string is written without a Buffer on the JS heap (10,000 status files made ~20 MB of pooled
  // Buffers that lived until a major collection); a short write finishes from a Buffer.
  const written = writeSync(fd, data);
  if (written === Buffer.byteLength(data, "utf8")) return;
  const bytes = Buffer.from(data, "utf8");
  let offset = written;
  for (let i = 0; offset < bytes.length && i < 1000; i++) {
    offset += writeSync(fd, bytes, offset, bytes.length - offset);
  }
  if (offset < bytes.length) throw new Error(`short write: ${offset} of ${bytes.length} bytes`);
}

function callback(fn: typeof fdatasync, fd: number): Promise<Error | undefined> {
  return new Promise((resolve) => fn(fd, (error) => resolve(error ?? undefined)));
}

async function syncDir(dir: string): Promise<Error | undefined> {
  let fd: number;
  try {
    fd = openSync(dir, "r");
  } catch (error) {
    return error as Error;
  }
  const error = await callback(fsync, fd);
  closeSync(fd);
  return error;
}

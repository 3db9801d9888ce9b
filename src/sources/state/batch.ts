// Many small files replaced at once, each atomically (temporary file, data synced, rename over the
// target), with one directory fsync per directory per batch instead of one per file. Opens, writes
// and renames are synchronous (small files in the page cache: microseconds each, where a promise
// round trip through the thread pool costs far more); only the data syncs, which wait on the disk,
// go to the thread pool, all at once. A crash leaves each file old or new, never torn.
import { closeSync, fdatasync, fsync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { DIR_MODE, FILE_MODE } from "./modes.ts";

export interface BatchOptions {
  /** Sync file data before the rename and each directory after it (default true). */
  durable?: boolean;
}

export interface BatchFailure {
  readonly path: string;
  readonly error: unknown;
}

/** Files created (or renamed) between two turns of the event loop. */
const CHUNK = 64;
let counter = 0;
const madeDirs = new Set<string>();

/** Writes every `[path, data]`; resolves with the files that could not be written (none: []). */
export async function writeFilesAtomic(
  entries: Iterable<readonly [string, string]>,
  options: BatchOptions = {},
): Promise<BatchFailure[]> {
  const durable = options.durable ?? true;
  const failures: BatchFailure[] = [];
  const open: { path: string; temp: string; fd: number }[] = [];
  let count = 0;
  for (const [path, data] of entries) {
    // Let timers and sockets in between chunks: creating files can wait on a busy journal.
    if (++count % CHUNK === 0) await new Promise((resolve) => setImmediate(resolve));
    const dir = dirname(path);
    const temp = join(dir, `.${basename(path)}.${process.pid}.${(counter++).toString(36)}.tmp`);
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
    if (i % CHUNK === CHUNK - 1) await new Promise((resolve) => setImmediate(resolve));
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

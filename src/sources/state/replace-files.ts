// Many small files replaced at once, each atomically (temporary file, data synced, rename over the
// target), with one directory fsync per directory per batch instead of one per file. Runs in the
// state I/O worker (io-worker-thread.ts), whose thread does nothing else: opens, writes and renames
// are synchronous (small files in the page cache; on ext4 an open or a rename can wait behind the
// journal commits the data syncs cause, which would stall the operator's main thread), except where
// io-worker.ts has the calling thread write, without spares: a batch of a few files while the
// worker is idle (few other syncs under way to wait behind), and every batch of `run --once`
// (nothing waits on its loop); the data
// syncs go to the thread pool all at once, so the disk commits them together. A crash leaves each
// file old or new, never torn. The temporary file is a spare inode when one has rested long enough
// (spare-inodes.ts): the old version of a file replaced earlier, rewritten, truncated and synced,
// also in a batch without syncs (event logs), as is the directory of a rename that keeps a spare.
import {
  closeSync,
  constants,
  fdatasync,
  fsync,
  ftruncateSync,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { threadId } from "node:worker_threads";
import { DIR_MODE, FILE_MODE } from "./modes.ts";
import { removeQuietly, SpareInodes } from "./spare-inodes.ts";
import { writeText } from "./write-text.ts";

export interface FileFailure {
  readonly path: string;
  readonly error: unknown;
}

let counter = 0;
/** The directories made or seen so far, with their device (`stat().dev`). */
const dirDevices = new Map<string, number>();
/** The spare inodes of this thread's writes (the state I/O worker's: one thread writes them all). */
export const spares = new SpareInodes();

/**
 * `.<name>.<pid>.t<thread>n<counter>.tmp` (leftovers.ts removes them after a crash): a worker that
 * replaces a dead one has a new thread id, so it never meets a name the dead one left.
 */
function tempName(dir: string, path: string): string {
  return join(dir, `.${basename(path)}.${process.pid}.t${threadId}n${(counter++).toString(36)}.tmp`);
}

interface Opened {
  readonly path: string;
  readonly data: string;
  readonly device: number;
  /** The temporary file is a spare: synced before its rename, whatever the batch. */
  readonly recycled: boolean;
  temp: string;
  fd: number;
}

/**
 * Writes every `[path, data]`; resolves with the files that could not be written (none: []).
 * `pool` is the thread's spares unless a test passes its own.
 */
export async function replaceFiles(
  entries: Iterable<readonly [string, string]>,
  durable: boolean,
  pool: SpareInodes = spares,
): Promise<FileFailure[]> {
  const failures: FileFailure[] = [];
  const open: Opened[] = [];
  const now = performance.now();
  for (const [path, data] of entries) {
    const dir = dirname(path);
    let temp: string | undefined;
    let fd: number | undefined;
    try {
      const device = deviceOf(dir);
      const spare = pool.take(device, now);
      fd = spare === undefined ? undefined : openSpare(spare);
      const recycled = fd !== undefined && spare !== undefined;
      if (fd !== undefined && spare !== undefined) {
        temp = spare;
        ftruncateSync(fd, writeText(fd, data, 0)); // cut the old version's tail
      } else {
        temp = tempName(dir, path);
        fd = openNew(dir, temp);
        writeText(fd, data, 0);
      }
      open.push({ path, data, device, recycled, temp, fd });
    } catch (error) {
      dirDevices.delete(dir);
      if (fd !== undefined) closeSync(fd);
      if (temp !== undefined) removeQuietly(temp);
      failures.push({ path, error });
    }
  }
  const synced = await Promise.all(
    open.map((f) => (durable || f.recycled ? callback(fdatasync, f.fd) : undefined)),
  );
  const dirs = new Set<string>();
  const kept: { device: number; dir: string; spare: string }[] = [];
  for (let i = 0; i < open.length; i++) {
    const f = open[i] as Opened;
    try {
      closeSync(f.fd);
      const error = synced[i];
      if (error) throw error;
      const dir = dirname(f.path);
      const spare = tempName(dir, f.path);
      // The link and the rename run with no await between them: another batch in flight cannot
      // link the same old inode as a second spare.
      let isKept = pool.keep(dir, f.path, spare);
      try {
        renameSync(f.temp, f.path);
      } catch (error) {
        if (isKept) pool.drop(spare);
        isKept = false;
        if (!movedAway(error)) throw error;
        await rewriteBeside(f, durable);
      }
      if (durable || isKept) dirs.add(dir);
      if (isKept) kept.push({ device: f.device, dir, spare });
    } catch (error) {
      removeQuietly(f.temp);
      failures.push({ path: f.path, error });
    }
  }
  const unsynced = new Set<string>();
  await Promise.all(
    [...dirs].map(async (dir) => {
      const error = await syncDir(dir);
      if (!error) return;
      unsynced.add(dir);
      if (durable) failures.push({ path: dir, error });
    }),
  );
  const rested = performance.now();
  for (const k of kept) {
    if (unsynced.has(k.dir)) pool.drop(k.spare);
    else pool.add(k.device, k.spare, rested);
  }
  return failures;
}

function deviceOf(dir: string): number {
  const known = dirDevices.get(dir);
  if (known !== undefined) return known;
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  const device = statSync(dir).dev;
  dirDevices.set(dir, device);
  return device;
}

/**
 * A rename that failed with EXDEV (a spare from another directory of the same device, with a bind
 * mount between them) or ENOENT (the target's directory, or the spare, removed by hand meanwhile).
 */
function movedAway(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "EXDEV" || code === "ENOENT";
}

/** Writes the data again to a new temporary file beside the target (its directory made again), and renames it. */
async function rewriteBeside(f: Opened, durable: boolean): Promise<void> {
  removeQuietly(f.temp);
  const dir = dirname(f.path);
  f.temp = tempName(dir, f.path);
  f.fd = openNew(dir, f.temp);
  try {
    writeText(f.fd, f.data, 0);
    if (durable) {
      const error = await callback(fdatasync, f.fd);
      if (error) throw error;
    }
  } finally {
    closeSync(f.fd);
  }
  renameSync(f.temp, f.path);
}

function openNew(dir: string, temp: string): number {
  try {
    return openSync(temp, "wx", FILE_MODE);
  } catch (error) {
    // The directory went away since it was made (removed by hand): make it again, once.
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    return openSync(temp, "wx", FILE_MODE);
  }
}

/** A spare opened for writing from its start, or undefined when it is gone (removed by hand). */
function openSpare(path: string): number | undefined {
  try {
    return openSync(path, constants.O_WRONLY);
  } catch {
    removeQuietly(path);
    return undefined;
  }
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

// Atomic file replacement: write a temporary file in the same directory, fsync it, rename it over
// the target, fsync the directory. A crash leaves the old file or the new one, never a torn one.
import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { DIR_MODE, FILE_MODE } from "./modes.ts";

export interface AtomicOptions {
  /** fsync the data and the directory (default true). Event logs skip it: losing the tail is fine. */
  durable?: boolean;
}

const madeDirs = new Set<string>();

export async function ensureDir(dir: string): Promise<void> {
  if (madeDirs.has(dir)) return;
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
  madeDirs.add(dir);
}

export async function writeFileAtomic(
  path: string,
  data: string,
  options: AtomicOptions = {},
): Promise<void> {
  const durable = options.durable ?? true;
  const dir = dirname(path);
  await ensureDir(dir);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    const handle = await open(temp, "wx", FILE_MODE);
    try {
      await handle.writeFile(data, "utf8");
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    if ((error as NodeJS.ErrnoException).code === "ENOENT") madeDirs.delete(dir);
    throw error;
  }
  if (durable) await syncDir(dir);
}

/**
 * fsyncs a directory, coalescing concurrent callers (group commit): a caller joins the next sync
 * that starts after its rename, so 10,000 renames in one directory cost a handful of syncs.
 */
const dirSyncs = new Map<string, { running: Promise<void>; next?: Promise<void> }>();

export function syncDir(dir: string): Promise<void> {
  const state = dirSyncs.get(dir);
  if (!state) {
    const running = fsyncDir(dir).finally(() => advance(dir));
    dirSyncs.set(dir, { running });
    return running;
  }
  state.next ??= state.running.catch(() => {}).then(() => fsyncDir(dir));
  return state.next;
}

function advance(dir: string): void {
  const state = dirSyncs.get(dir);
  if (!state?.next) {
    dirSyncs.delete(dir);
    return;
  }
  const running = state.next.finally(() => advance(dir));
  dirSyncs.set(dir, { running });
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

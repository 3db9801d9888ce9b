// Event logs written by appending (in the state I/O worker): a batch's events of one resource,
// folded (event-merge.ts), are one write at the end of its log; readers fold the lines again. A
// log that has grown past compactAt(limit) bytes is compacted instead: read, folded to its newest
// `limit` records and replaced atomically (replace-files.ts), as every write did before. An append
// costs an open, a stat, a write and a close, and no inode; replacing the whole log on every batch
// (a read, a parse, a temporary file, a rename, and a data sync where the temporary file was a
// spare inode) made event logs half the state I/O worker's files and most of its CPU in
// `bench/queue-nomad.ts` (docs/benchmarks.md, round 11). Best effort, as before: nothing is synced
// (a power loss may lose the last appends, or tear the last line, which readers skip; the next
// append starts on a line of its own).
import {
  closeSync,
  constants,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
} from "node:fs";
import { dirname } from "node:path";
import { compactAt, formatEvents, mergeEvents, parseEvents } from "./event-merge.ts";
import type { EventLogUpdate } from "./io-messages.ts";
import { DIR_MODE, FILE_MODE } from "./modes.ts";
import { type FileFailure, replaceFiles, spares } from "./replace-files.ts";
import type { SpareInodes } from "./spare-inodes.ts";
import { writeText } from "./write-text.ts";

// Read and write: the last byte is read to see whether the last append was torn.
const APPEND = constants.O_RDWR | constants.O_APPEND | constants.O_CREAT;

/** Adds each update's events to its log; resolves with the logs that could not be written. */
export async function appendLogs(
  logs: readonly EventLogUpdate[],
  limit: number,
  pool: SpareInodes = spares,
): Promise<FileFailure[]> {
  const failures: FileFailure[] = [];
  const compact: [string, string][] = [];
  for (const { path, events } of logs) {
    const lines = formatEvents(mergeEvents([], events, limit));
    try {
      if (!append(path, lines, compactAt(limit))) {
        compact.push([path, formatEvents(parseEvents(`${readText(path)}\n${lines}`, limit))]);
      }
    } catch (error) {
      failures.push({ path, error });
    }
  }
  if (compact.length > 0) failures.push(...(await replaceFiles(compact, false, pool)));
  return failures;
}

/** Appends `text` to the log at `path` unless the log would outgrow `max` bytes (false: compact it). */
function append(path: string, text: string, max: number): boolean {
  const fd = openLog(path);
  try {
    const size = fstatSync(fd).size;
    const appended = size > 0 && !endsWithNewline(fd, size) ? `\n${text}` : text;
    if (size > 0 && size + Buffer.byteLength(appended, "utf8") > max) return false;
    writeText(fd, appended, null);
    return true;
  } finally {
    closeSync(fd);
  }
}

function openLog(path: string): number {
  try {
    return openSync(path, APPEND, FILE_MODE);
  } catch (error) {
    // A resource's first event: its kind's or namespace's folder may not exist yet.
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    mkdirSync(dirname(path), { recursive: true, mode: DIR_MODE });
    return openSync(path, APPEND, FILE_MODE);
  }
}

/** Whether the log's last byte ends a line (a power loss can tear the last append). */
function endsWithNewline(fd: number, size: number): boolean {
  const last = Buffer.alloc(1);
  return readSync(fd, last, 0, 1, size - 1) === 1 && last[0] === 0x0a;
}

function readText(path: string): string {
  if (!statSync(path, { throwIfNoEntry: false })) return ""; // removed meanwhile (forget)
  return readFileSync(path, "utf8");
}

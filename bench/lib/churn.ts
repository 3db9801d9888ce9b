// What the previous benchmark's clean-up freed, and how long ago. On ext4 without a journal (the
// root file system of the machines this is measured on) a freed inode is not reused for 60 s, or
// 300 s while its inode table block is unwritten, and creating a file scans past each such inode:
// a run that creates thousands of files (the state directory's) within minutes of another's
// clean-up pays for it in system CPU (docs/benchmarks.md, "Round 7"). Benchmarks print this line
// so that figures taken back to back can be read with it.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const RECORD = join(tmpdir(), "mlops-bench-last-cleanup.json");

interface Cleanup {
  readonly at: number;
  readonly entries: number;
}

/** Counts what `dir` holds (before it is removed) and records it as the latest clean-up. */
export function recordCleanup(dir: string): void {
  let entries = 0;
  try {
    entries = readdirSync(dir, { recursive: true }).length;
  } catch {
    return; // nothing there
  }
  const previous = read();
  const at = Date.now();
  // Clean-ups within the same minute add up: they are all still "recent" for the next run.
  const total = previous && at - previous.at < 60_000 ? previous.entries + entries : entries;
  try {
    writeFileSync(RECORD, JSON.stringify({ at, entries: total } satisfies Cleanup));
  } catch {
    // a read-only temp directory: the line says "none recorded"
  }
}

/**
 * E.g. "30,412 entries 12 s before this run; each benchmark's directory in a block group of its own";
 * taken when the benchmark starts. `spread` says whether this run's files can land among those.
 */
export function previousCleanup(spread: string, now = Date.now()): string {
  const last = read();
  if (!last) return `none recorded; ${spread}`;
  const ago = Math.max(0, Math.round((now - last.at) / 1000));
  return `${last.entries.toLocaleString("en-US")} entries ${ago} s before this run${ago < 300 ? " (within 300 s: see docs/benchmarks.md, Round 7)" : ""}; ${spread}`;
}

function read(): Cleanup | undefined {
  try {
    const value = JSON.parse(readFileSync(RECORD, "utf8")) as Partial<Cleanup>;
    return typeof value.at === "number" && typeof value.entries === "number"
      ? { at: value.at, entries: value.entries }
      : undefined;
  } catch {
    return undefined;
  }
}

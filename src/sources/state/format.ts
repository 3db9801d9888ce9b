// The state directory's format version, in `<state-dir>/format.json` (`{"format":4}`). A directory
// without the file and with content is format 1 (the layout before the file existed) and is
// upgraded in place; an empty one is stamped with the current format; a newer format than this
// binary knows is refused, so an older binary never rewrites what it does not understand.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { OperatorError } from "../../api/errors.ts";
import { writeFileAtomic } from "./atomic.ts";

/** The format this binary reads and writes. */
export const STATE_FORMAT = 4;

export const formatPath = (stateDir: string): string => join(stateDir, "format.json");

export class StateFormatError extends OperatorError {
  constructor(reason: "StateFormatTooNew" | "StateFormatUnreadable", message: string) {
    super(reason, message, { terminal: true });
    this.name = "StateFormatError";
  }
}

/**
 * One step per format: `MIGRATIONS[n]` turns format n into n + 1 in place, keeping every file.
 * 1 → 2: the lock became a socket (lock.ts takes over a pid file left by format 1 before this
 * runs); status, events, generations and secrets keep their layout, so nothing is rewritten.
 * 2 → 3: generations gained a journal beside their snapshot (generations.ts); a format-2 snapshot
 * reads as a snapshot with no journal, so nothing is rewritten. A format-2 binary would read the
 * snapshot alone and lose the journal's changes: the format keeps it out.
 * 3 → 4: event logs are appended to between compactions (append-logs.ts), so a log may repeat an
 * event on several lines that readers fold; a format-3 log (one line per event) reads the same, so
 * nothing is rewritten. A format-3 binary would show and keep the repeats unfolded.
 */
const MIGRATIONS: Record<number, (stateDir: string) => Promise<void>> = {
  1: async () => {},
  2: async () => {},
  3: async () => {},
};

export interface FormatCheck {
  /** The format found on disk (1 for a directory from before the format file). */
  readonly found: number;
  /** True when the directory was upgraded (or stamped) now. */
  readonly written: boolean;
}

/** Reads the format; upgrades an older one in place; throws StateFormatError on a newer one. */
export async function ensureFormat(stateDir: string): Promise<FormatCheck> {
  const found = readFormat(stateDir);
  if (found === STATE_FORMAT && existsSync(formatPath(stateDir))) return { found, written: false };
  if (found > STATE_FORMAT) {
    throw new StateFormatError(
      "StateFormatTooNew",
      `${formatPath(stateDir)}: state directory format ${found} is newer than this mlopsctl understands (${STATE_FORMAT}); run a newer mlopsctl, or point --state-dir elsewhere`,
    );
  }
  for (let format = found; format < STATE_FORMAT; format++) {
    const step = MIGRATIONS[format];
    if (!step) throw new Error(`no migration of state directory format ${format}`);
    await step(stateDir);
  }
  await writeFileAtomic(formatPath(stateDir), `${JSON.stringify({ format: STATE_FORMAT })}\n`);
  return { found, written: true };
}

/** The format on disk: the file's, else 1 when the directory holds anything but a lock, else current. */
export function readFormat(stateDir: string): number {
  const path = formatPath(stateDir);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    const entries = readdirSync(stateDir).filter((name) => name !== "lock");
    return entries.length > 0 ? 1 : STATE_FORMAT;
  }
  let format: unknown;
  try {
    format = (JSON.parse(text) as { format?: unknown }).format;
  } catch {
    format = undefined;
  }
  if (typeof format !== "number" || !Number.isInteger(format) || format < 1) {
    throw new StateFormatError(
      "StateFormatUnreadable",
      `${path}: expected {"format": <integer ≥ 1>}, found ${JSON.stringify(text.slice(0, 80))}; nothing in the state directory was changed`,
    );
  }
  return format;
}

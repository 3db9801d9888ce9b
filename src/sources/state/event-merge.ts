// The event log's lines, pure: parsed from a log's text, merged with new events (a repeat of the
// same type, reason and message bumps `count` and `lastTimestamp` instead of adding a line, the
// newest `limit` kept) and formatted back, one JSON object per line, newest last; a log's text is
// read by folding its lines the same way (a log is appended to between compactions). Shared by the
// main thread (events.ts, reading for `describe`) and the state I/O worker (append-logs.ts, which
// appends and compacts), so it imports no module with side effects.
import type { EventType } from "../../controller/reconcile.ts";

export interface EventRecord {
  type: EventType;
  reason: string;
  message: string;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
}

/** An event recorded and not yet written: `at` is its ISO time. */
export interface PendingEvent {
  type: EventType;
  reason: string;
  message: string;
  at: string;
}

/** Pure: adds events to a log, folding repeats into count/lastTimestamp, keeping the newest `limit`. */
export function mergeEvents(
  log: readonly EventRecord[],
  events: readonly PendingEvent[],
  limit: number,
): EventRecord[] {
  const out = [...log];
  for (const e of events) {
    fold(out, {
      type: e.type,
      reason: e.reason,
      message: e.message,
      count: 1,
      firstTimestamp: e.at,
      lastTimestamp: e.at,
    });
  }
  return out.slice(Math.max(0, out.length - limit));
}

/**
 * A log's lines folded into its records: the lines appended since the last compaction repeat
 * records already in the file (a line per batch that recorded the event), so a line of the same
 * type, reason and message adds its count to the record, takes its lastTimestamp and moves it to the
 * end, as merging it then would have; the newest `limit` kept at each step, so a record that fell off
 * starts again at its own count, as before it was appended. An unreadable line (a torn last append
 * after a power loss) is skipped.
 */
export function parseEvents(text: string, limit = Number.POSITIVE_INFINITY): EventRecord[] {
  const out: EventRecord[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let record: EventRecord;
    try {
      record = JSON.parse(line) as EventRecord;
    } catch {
      continue;
    }
    if (!isRecord(record)) continue;
    fold(out, record);
    if (out.length > limit) out.shift();
  }
  return out;
}

/**
 * Adds `record` to `out`: a record of the same type, reason and message takes its count added and
 * its lastTimestamp and moves to the end; otherwise it is appended.
 */
function fold(out: EventRecord[], record: EventRecord): void {
  const i = out.findIndex(
    (r) => r.type === record.type && r.reason === record.reason && r.message === record.message,
  );
  if (i === -1) {
    out.push(record);
    return;
  }
  const [existing] = out.splice(i, 1) as [EventRecord];
  out.push({ ...existing, count: existing.count + record.count, lastTimestamp: record.lastTimestamp });
}

function isRecord(value: unknown): value is EventRecord {
  const r = value as EventRecord | null;
  return (
    typeof r === "object" &&
    r !== null &&
    typeof r.reason === "string" &&
    typeof r.message === "string" &&
    typeof r.count === "number"
  );
}

/**
 * The size past which a log of `limit` records is compacted instead of appended to (append-logs.ts):
 * about twice what `limit` lines of a typical event take, so a log is rewritten once per ~100 appends.
 */
export function compactAt(limit: number): number {
  return Math.max(16_384, limit * 512);
}

export function formatEvents(log: readonly EventRecord[]): string {
  return `${log.map((e) => JSON.stringify(e)).join("\n")}\n`;
}

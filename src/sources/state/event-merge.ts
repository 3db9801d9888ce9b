// The event log's lines, pure: parsed from a log's text, merged with new events (a repeat of the
// same type, reason and message bumps `count` and `lastTimestamp` instead of adding a line, the
// newest `limit` kept) and formatted back, one JSON object per line, newest last. Shared by the
// main thread (events.ts, reading for `describe`) and the state I/O worker (io-worker-thread.ts,
// which merges and writes), so it imports no module with side effects.
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
    const i = out.findIndex((r) => r.type === e.type && r.reason === e.reason && r.message === e.message);
    if (i !== -1) {
      const [existing] = out.splice(i, 1);
      if (existing) out.push({ ...existing, count: existing.count + 1, lastTimestamp: e.at });
    } else {
      out.push({
        type: e.type,
        reason: e.reason,
        message: e.message,
        count: 1,
        firstTimestamp: e.at,
        lastTimestamp: e.at,
      });
    }
  }
  return out.slice(Math.max(0, out.length - limit));
}

export function parseEvents(text: string): EventRecord[] {
  const out: EventRecord[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      out.push(JSON.parse(line) as EventRecord);
    } catch {
      // A torn last line cannot happen (atomic writes); skip anything unreadable anyway.
    }
  }
  return out;
}

export function formatEvents(log: readonly EventRecord[]): string {
  return `${log.map((e) => JSON.stringify(e)).join("\n")}\n`;
}

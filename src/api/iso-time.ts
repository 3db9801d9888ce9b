// `Date.prototype.toISOString`, one string per millisecond: a reconcile stamps a status with the same
// instant in several places (the record's `updated`, each changed condition's lastTransitionTime,
// a run's startTime, a queue's admittedAt) and the jobs reconciled in one millisecond share it. Each
// call made a string of its own: at the end of `run --once` over 10,000 jobs, 50,000 timestamps
// of 6,391 distinct values (2.0 MB of a 58 MB heap; docs/benchmarks.md, round 29). The last
// 256 milliseconds are remembered, not only the last one: reconciles in flight at once stamp
// their own instants in turn, and a string for the last millisecond alone still left 22,412
// timestamps of 6,804 values (0.6 MB more than one each; round 30).

import { Recent } from "./recent.ts";

let lastMs = Number.NaN;
let lastText = "";
/** The last 256 milliseconds' strings. */
const recent = new Recent<number, string>(256);

/** `date.toISOString()`: the string an earlier call made for the same millisecond, if recent. */
export function isoTime(date: Date): string {
  const ms = date.getTime();
  if (ms === lastMs) return lastText;
  // toISOString throws a RangeError for an invalid date.
  const text = recent.get(ms) ?? recent.remember(ms, date.toISOString());
  lastMs = ms;
  lastText = text;
  return text;
}

/**
 * A scheduler's RFC 3339 time as the ISO string of its millisecond, as the operator's own times are:
 * Docker's carry nanoseconds and Nomad's nanoseconds with trailing zeros trimmed, so a status mixed
 * precisions and strings of one second did not sort by time ("…:29Z" after "…:29.5Z"). Undefined for
 * an empty, zero ("0001-01-01…") or unreadable time.
 */
export function isoTimeOf(text: string | null | undefined): string | undefined {
  if (!text || text.startsWith("0001-")) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? isoTime(new Date(ms)) : undefined;
}

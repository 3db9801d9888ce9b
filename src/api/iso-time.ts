// `Date.prototype.toISOString`, one string per millisecond: a reconcile stamps a status with the same
// instant in several places (the record's `updated`, each changed condition's lastTransitionTime,
// a run's startTime, a queue's admittedAt) and the jobs reconciled in one millisecond share it. Each
// call made a string of its own: at the end of `run --once` over 10,000 jobs, 50,000 timestamps
// of 6,391 distinct values (2.0 MB of a 58 MB heap; docs/benchmarks.md, round 29).

let lastMs = Number.NaN;
let lastText = "";

/** `date.toISOString()`: the string the last call made when `date` is the same millisecond. */
export function isoTime(date: Date): string {
  const ms = date.getTime();
  if (ms !== lastMs) {
    lastText = date.toISOString(); // throws a RangeError for an invalid date, as toISOString does
    lastMs = ms;
  }
  return lastText;
}

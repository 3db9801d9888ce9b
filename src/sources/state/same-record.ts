// Whether two status records say the same, timestamps aside: what decides that a status write is a
// no-op. A structural comparison, key order ignored, members that are undefined counted as absent
// (JSON drops them), stopping at the first difference: a real change (a new phase) costs a few
// comparisons, where serializing and hashing both records cost the whole of each. The spec is
// compared through the record's specHash, not member by member.
import type { StatusRecord } from "./record.ts";

/** Members that change on every write without changing what a record says. */
export const TIME_KEYS: ReadonlySet<string> = new Set(["lastTransitionTime", "lastUpdateTime", "updated"]);

export function sameRecord(a: StatusRecord, b: StatusRecord): boolean {
  return sameValue(a, b, true);
}

function sameValue(a: unknown, b: unknown, top = false): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") {
    // Primitives as JSON writes them (NaN and Infinity become null, as in the file).
    return typeof a !== "object" && typeof b !== "object" && JSON.stringify(a) === JSON.stringify(b);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    // An undefined element is written as null.
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i] ?? null, b[i] ?? null)) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let count = 0;
  for (const key in x) {
    if (TIME_KEYS.has(key) || (top && key === "spec")) continue;
    const value = x[key];
    if (value === undefined) continue;
    count++;
    if (!sameValue(value, y[key])) return false;
  }
  for (const key in y) {
    if (TIME_KEYS.has(key) || (top && key === "spec")) continue;
    if (y[key] !== undefined) count--;
  }
  return count === 0;
}

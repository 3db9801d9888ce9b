// One canonical JSON and one hash for everything that compares specs: generations (directory
// source), run identity (TrainingJob), component specs (MlopsStack). Key order and formatting
// never change a hash; undefined members are dropped as JSON drops them.
import { hash } from "node:crypto";

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  // One string built by appending, with no array but the keys: the mapped, filtered and sorted
  // copies and the template strings of each level were an eighth of all the bytes a converge of
  // 10,000 jobs allocated (docs/benchmarks.md, Round 9).
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ",";
      if (i in value) out += canonicalJson(value[i]); // a hole joins as nothing, as [].join does
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  sortKeys(keys);
  let out = "{";
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    if (out.length > 1) out += ",";
    out += quoted(key);
    out += canonicalJson(member);
  }
  return `${out}}`;
}

/**
 * Sorts keys in place as `sort()` does (by UTF-16 code units), when they are not in order already:
 * a spec's few keys by insertion, as `sort()` copies every array it sorts into a new one.
 */
function sortKeys(keys: string[]): void {
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i++) sorted = (keys[i - 1] as string) <= (keys[i] as string);
  if (sorted) return;
  if (keys.length > 16) {
    keys.sort();
    return;
  }
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    for (; j >= 0 && (keys[j] as string) > key; j--) keys[j + 1] = keys[j] as string;
    keys[j + 1] = key;
  }
}

/** `"key":` for each key, kept for the first QUOTED_KEYS keys met (specs share a few dozen). */
const quotedKeys = new Map<string, string>();
const QUOTED_KEYS = 1_024;

function quoted(key: string): string {
  let text = quotedKeys.get(key);
  if (text === undefined) {
    text = `${JSON.stringify(key)}:`;
    if (quotedKeys.size < QUOTED_KEYS) quotedKeys.set(key, text);
  }
  return text;
}

/**
 * Hex sha256 of the canonical JSON, cut to `length` characters (64: the whole digest). One-shot
 * `crypto.hash`: half the time of a Hash object for inputs this small, asked for several times per
 * resource.
 */
export function hashOf(value: unknown, length = 16): string {
  const hex = hash("sha256", canonicalJson(value), "hex");
  if (length >= hex.length) return hex;
  // A cut of 13 characters or more is a slice that keeps the whole digest alive (32 + 80 B per hash
  // kept, in status records and caches); toLowerCase of lowercase hex writes a string of its own.
  return hex.slice(0, length).toLowerCase();
}

const specHashes = new WeakMap<object, string>();

/**
 * `hashOf(spec, length)`, computed once per spec object: a resource keeps the spec object of the read
 * that made it, and every reconcile and status write asks for its hash again. Specs are never
 * changed in place (a change is a new resource from a new read).
 */
export function specHashOf(spec: unknown, length = 16): string {
  if (spec === null || typeof spec !== "object") return hashOf(spec, length);
  let hash = specHashes.get(spec);
  if (hash === undefined) {
    hash = hashOf(spec, 64);
    specHashes.set(spec, hash);
  }
  return hash.slice(0, length);
}

// One canonical JSON and one hash for everything that compares specs: generations (directory
// source), run identity (TrainingJob), component specs (MlopsStack). Key order and formatting
// never change a hash; undefined members are dropped as JSON drops them.
import { hash } from "node:crypto";

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  const entries = Object.keys(value)
    .sort()
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(",")}}`;
}

/**
 * Hex sha256 of the canonical JSON, cut to `length` characters (64: the whole digest). One-shot
 * `crypto.hash`: half the time of a Hash object for inputs this small, asked for several times per
 * resource.
 */
export function hashOf(value: unknown, length = 16): string {
  return hash("sha256", canonicalJson(value), "hex").slice(0, length);
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

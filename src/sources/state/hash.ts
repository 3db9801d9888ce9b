// The spec hash that decides generations: sha256 of the spec as canonical JSON (sorted keys), so
// key order and formatting in a file never bump a generation. Cached per spec object: a resource
// keeps its spec object from the read that made it, and the source, the store and every status
// write ask for the same hash (specs are never changed in place).
import { hashOf } from "../../api/hash.ts";

export { canonicalJson } from "../../api/hash.ts";

const cache = new WeakMap<object, string>();

export function specHash(spec: unknown): string {
  if (spec === null || typeof spec !== "object") return hashOf(spec, 64);
  let hash = cache.get(spec);
  if (hash === undefined) {
    hash = hashOf(spec, 64);
    cache.set(spec, hash);
  }
  return hash;
}

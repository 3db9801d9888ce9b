// The spec hash that decides generations: sha256 of the spec as canonical JSON (sorted keys), so
// key order and formatting in a file never bump a generation. Cached per spec object: a resource
// keeps its spec object from the read that made it, and the source, the store and every status
// write ask for the same hash (specs are never changed in place).
import { specHashOf } from "../../api/hash.ts";

export { canonicalJson } from "../../api/hash.ts";

export function specHash(spec: unknown): string {
  return specHashOf(spec, 64);
}

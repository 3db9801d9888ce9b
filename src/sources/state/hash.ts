// The spec hash that decides generations: sha256 of the spec as canonical JSON (sorted keys), so
// key order and formatting in a file never bump a generation.
import { hashOf } from "../../api/hash.ts";

export { canonicalJson } from "../../api/hash.ts";

export function specHash(spec: unknown): string {
  return hashOf(spec, 64);
}

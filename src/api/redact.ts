// What the operator keeps and prints of a spec: env names, never env values. A plain `value` becomes
// `valueHash` (a short hash: a change still shows in `plan` and `describe`), a `valueFrom` reference
// stays as it is (it names a file or a Secret, not the value). Used for the state directory's status
// records and every CLI output that prints a spec.
import { hashOf } from "./hash.ts";

/**
 * The spec with every `env[].value` replaced by `valueHash`; other kinds' specs are returned as is.
 * A new copy each time (not kept: what holds a redacted spec holds it as long as it needs it, and a
 * copy kept per spec object cost ~0.24 KB a resource at 10,000; docs/benchmarks.md, round 28).
 */
export function redactSpec(spec: unknown): unknown {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) return spec;
  const env = (spec as { env?: unknown }).env;
  // Nothing to redact (a record the operator wrote, a spec without plain values): the spec as is.
  if (!Array.isArray(env) || !env.some(hasValue)) return spec;
  return { ...spec, env: env.map(redactEnv) };
}

const hasValue = (entry: unknown): boolean => entry !== null && typeof entry === "object" && "value" in entry;

function redactEnv(entry: unknown): unknown {
  if (!hasValue(entry)) return entry;
  const { value, ...rest } = entry as { value: unknown };
  return { ...rest, valueHash: valueHashOf(String(value)) };
}

/**
 * The hashes of the env values redacted lately: a resource's every status write redacts its spec
 * again, and the hash is most of that (~2.7 µs a spec). Bounded: a full table starts over. Its keys
 * are the values' own strings, held by the resources' specs already; nothing here leaves the process.
 */
const HASHES_KEPT = 1_024;
let hashes = new Map<string, string>();

function valueHashOf(value: string): string {
  let hash = hashes.get(value);
  if (hash === undefined) {
    if (hashes.size >= HASHES_KEPT) hashes = new Map();
    hash = `sha256:${hashOf(value, 12)}`;
    hashes.set(value, hash);
  }
  return hash;
}

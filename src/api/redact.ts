// What the operator keeps and prints of a spec: env names, never env values. A plain `value` becomes
// `valueHash` (a short hash: a change still shows in `plan` and `describe`), a `valueFrom` reference
// stays as it is (it names a file or a Secret, not the value). Used for the state directory's status
// records and every CLI output that prints a spec.
import { hashOf } from "./hash.ts";

/**
 * The spec with every `env[].value` replaced by `valueHash`; other kinds' specs are returned as is.
 * Made once per spec object (every status write of a resource asks again; specs are never changed
 * in place), so the records of one resource share one redacted spec.
 */
export function redactSpec(spec: unknown): unknown {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) return spec;
  const env = (spec as { env?: unknown }).env;
  // Nothing to redact (a record the operator wrote, a spec without plain values): the spec as is.
  if (!Array.isArray(env) || !env.some(hasValue)) return spec;
  let redacted = redactedSpecs.get(spec);
  if (redacted === undefined) {
    redacted = { ...spec, env: env.map(redactEnv) };
    redactedSpecs.set(spec, redacted);
  }
  return redacted;
}

const redactedSpecs = new WeakMap<object, unknown>();

const hasValue = (entry: unknown): boolean => entry !== null && typeof entry === "object" && "value" in entry;

function redactEnv(entry: unknown): unknown {
  if (!hasValue(entry)) return entry;
  const { value, ...rest } = entry as { value: unknown };
  return { ...rest, valueHash: `sha256:${hashOf(String(value), 12)}` };
}

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
  if (!Array.isArray(env)) return spec;
  let redacted = redactedSpecs.get(spec);
  if (redacted === undefined) {
    redacted = { ...spec, env: env.map(redactEnv) };
    redactedSpecs.set(spec, redacted);
  }
  return redacted;
}

const redactedSpecs = new WeakMap<object, unknown>();

function redactEnv(entry: unknown): unknown {
  if (entry === null || typeof entry !== "object" || !("value" in entry)) return entry;
  const { value, ...rest } = entry as { value: unknown };
  return { ...rest, valueHash: `sha256:${hashOf(String(value), 12)}` };
}

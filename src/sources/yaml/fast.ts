// Fast path for the common file: one plain document (no anchors, aliases, tags, directives), read
// with js-yaml's core schema, which agrees with `yaml`'s YAML 1.2 core schema on such input and is
// several times faster. Anything else, and any document that does not validate, goes through the
// `yaml` parser, which locates every problem; so the fast path can only ever say "valid".
import { CORE_SCHEMA, load } from "js-yaml";

/** The document's value when the fast path applies and parsing succeeds; `undefined` otherwise. */
export function fastParse(text: string): { value: unknown; line: number } | undefined {
  if (/[&*!%]/.test(text)) return undefined;
  let start = -1;
  let markers = 0;
  let line = 0;
  for (const raw of text.split("\n")) {
    line++;
    if (raw.startsWith("---") || raw.startsWith("...")) {
      if (raw.startsWith("...") || ++markers > 1 || start !== -1) return undefined;
      continue;
    }
    if (start === -1 && raw.trim() !== "" && !raw.trimStart().startsWith("#")) start = line;
  }
  if (start === -1) return undefined;
  try {
    return { value: load(text, { schema: CORE_SCHEMA }), line: start };
  } catch {
    return undefined;
  }
}

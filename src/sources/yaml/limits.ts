// Hostile-input guards applied to a file's bytes before the YAML parser sees them: size, binary
// content, encoding and nesting depth. Each failure is one located issue; nothing here throws.
import type { LocatedIssue } from "./issue.ts";

/** Largest file read (bytes). Resource files are a few hundred bytes; anything this big is a mistake. */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;
/** Deepest nesting of collections accepted (the schemas need fewer than 8 levels). */
export const MAX_DEPTH = 64;
/** Documents one file may hold (a stream of a million `---` would cost the parser seconds). */
export const MAX_DOCUMENTS = 1000;
/** Entries (an upper bound: commas plus lines) one file may hold; a resource needs a few hundred. */
export const MAX_ENTRIES = 50_000;
/** Aliases a document may expand (yaml's guard against "billion laughs"). */
export const MAX_ALIAS_COUNT = 100;

const decoder = new TextDecoder("utf-8", { fatal: true });

export type Decoded = { ok: true; text: string } | { ok: false; issue: LocatedIssue };

/** Checks size, NUL bytes and UTF-8, then returns the text (BOM removed). Depth is loadText's check. */
export function decodeFile(file: string, bytes: Uint8Array): Decoded {
  if (bytes.length > MAX_FILE_BYTES) {
    return fail(file, `file is ${bytes.length} bytes, more than the limit of ${MAX_FILE_BYTES} (4 MiB)`);
  }
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    return fail(file, `binary file (NUL byte at offset ${nul}): not YAML`);
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return fail(file, "file is not valid UTF-8: not YAML");
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const deep = tooDeep(text);
  if (deep)
    return { ok: false, issue: { file, ...deep, message: `nesting deeper than ${MAX_DEPTH} levels` } };
  return { ok: true, text };
}

function fail(file: string, message: string): Decoded {
  return { ok: false, issue: { file, line: 1, col: 1, message } };
}

/**
 * A conservative scan for nesting the parser would recurse into: flow brackets, and block nesting
 * through indentation and compact `- - -` sequences. Quotes are ignored, so brackets inside strings
 * count too: only absurd documents (over MAX_DEPTH) are refused. Returns where the limit was crossed.
 */
export function tooDeep(text: string): { line: number; col: number } | undefined {
  let flow = 0;
  let line = 1;
  let lineStart = 0;
  let atLineStart = true;
  let block = 0;
  let comment = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      line++;
      lineStart = i + 1;
      atLineStart = true;
      block = 0;
      comment = false;
      continue;
    }
    if (comment) continue;
    if (atLineStart) {
      if (c === 32) {
        if (i - lineStart > MAX_DEPTH * 4) return { line, col: i - lineStart + 1 };
        continue;
      }
      if (c === 45 && text.charCodeAt(i + 1) === 32) {
        if (++block > MAX_DEPTH) return { line, col: i - lineStart + 1 };
        i++;
        continue;
      }
      atLineStart = false;
    }
    if (c === 35 && (i === lineStart || text.charCodeAt(i - 1) === 32)) comment = true;
    else if (c === 91 || c === 123) {
      if (++flow > MAX_DEPTH) return { line, col: i - lineStart + 1 };
    } else if ((c === 93 || c === 125) && flow > 0) flow--;
  }
  return undefined;
}

/** Where the document after the first MAX_DOCUMENTS starts, when the file holds more than that. */
export function tooManyDocuments(text: string): { line: number; col: number } | undefined {
  const marker = /^(?:---|\.\.\.)(?:[ \t]|$)/gm;
  let count = 0;
  for (let match = marker.exec(text); match !== null; match = marker.exec(text)) {
    if (++count > MAX_DOCUMENTS) {
      let line = 1;
      for (let i = 0; i < match.index; i++) if (text.charCodeAt(i) === 10) line++;
      return { line, col: 1 };
    }
  }
  return undefined;
}

/** Entries a file with aliases may hold: the parser's alias checks grow with the document's size. */
export const MAX_ENTRIES_WITH_ALIASES = 2_000;

const ALIAS = /(?:^|[\s,[{:-])\*[^\s,[\]{}]/g;

/** Where the file passes `limit` entries (commas and line breaks, counted without parsing). */
export function tooManyEntries(text: string, limit = MAX_ENTRIES): { line: number; col: number } | undefined {
  let entries = 0;
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      line++;
      lineStart = i + 1;
    } else if (c !== 44) continue;
    if (++entries > limit) return { line, col: Math.max(1, i - lineStart + 1) };
  }
  return undefined;
}

/**
 * Where the file passes MAX_ALIAS_COUNT alias tokens (`*name` after a space, a line start or a flow
 * indicator). The parser's own check counts expansions but takes seconds on tens of thousands of
 * aliases; this refuses them first. `"*.txt"` in quotes is not an alias and is not counted.
 */
export function tooManyAliases(text: string): { line: number; col: number } | undefined {
  const alias = new RegExp(ALIAS);
  let count = 0;
  for (let match = alias.exec(text); match !== null; match = alias.exec(text)) {
    if (++count > MAX_ALIAS_COUNT) {
      let line = 1;
      let lineStart = 0;
      for (let i = 0; i < match.index; i++) {
        if (text.charCodeAt(i) === 10) {
          line++;
          lineStart = i + 1;
        }
      }
      return { line, col: match.index - lineStart + 2 };
    }
  }
  return undefined;
}

/** The first shape limit a text breaks (depth, documents, entries), located, before any parsing. */
export function shapeProblem(text: string): { line: number; col: number; message: string } | undefined {
  const deep = tooDeep(text);
  if (deep) return { ...deep, message: `nesting deeper than ${MAX_DEPTH} levels` };
  const many = tooManyDocuments(text);
  if (many) return { ...many, message: `more than ${MAX_DOCUMENTS} documents in one file` };
  const aliases = tooManyAliases(text);
  if (aliases) {
    return {
      ...aliases,
      message: `more than ${MAX_ALIAS_COUNT} aliases: refused as a resource-exhaustion attack`,
    };
  }
  const entries = tooManyEntries(text);
  if (entries) {
    return { ...entries, message: `more than ${MAX_ENTRIES} entries in one file: not a resource file` };
  }
  if (new RegExp(ALIAS).test(text)) {
    const withAliases = tooManyEntries(text, MAX_ENTRIES_WITH_ALIASES);
    if (withAliases) {
      return {
        ...withAliases,
        message: `more than ${MAX_ENTRIES_WITH_ALIASES} entries in a file that uses aliases: refused as a resource-exhaustion attack`,
      };
    }
  }
  return undefined;
}

/** Depth of a parsed value (after the scan, a backstop that also covers anchors and odd layouts). */
export function depthOf(value: unknown, limit = MAX_DEPTH, depth = 0): number {
  if (depth > limit || value === null || typeof value !== "object") return depth;
  let max = depth;
  for (const child of Array.isArray(value) ? value : Object.values(value)) {
    max = Math.max(max, depthOf(child, limit, depth + 1));
    if (max > limit) break;
  }
  return max;
}

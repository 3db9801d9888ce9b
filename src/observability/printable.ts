// Text from users (file names, resource names, messages, env and label values) as it may be
// printed on a terminal: every control character, C1 control, line or paragraph separator and
// bidirectional override is shown as an escape (`\n`, `\x1b`, `\u202e`), so no value can end a
// line, forge one (`…: OK`), move the cursor or clear the screen. Backslashes are left as they are.

const NAMED: Record<number, string> = { 9: "\\t", 10: "\\n", 13: "\\r" };

function unsafe(code: number): boolean {
  return (
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x200e ||
    code === 0x200f ||
    code === 0x2028 ||
    code === 0x2029 ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

function escapeCode(code: number): string {
  const named = NAMED[code];
  if (named) return named;
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, "0")}`
    : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** `text` with everything that could act on a terminal escaped; unchanged (same string) when safe. */
export function printable(text: string): string {
  let i = 0;
  while (i < text.length && !unsafe(text.charCodeAt(i))) i++;
  if (i === text.length) return text;
  let out = text.slice(0, i);
  for (; i < text.length; i++) {
    const code = text.charCodeAt(i);
    out += unsafe(code) ? escapeCode(code) : text[i];
  }
  return out;
}

/** Multi-line text (YAML output): like printable(), but newlines and tabs stay. */
export function printableText(text: string): string {
  return text
    .split("\n")
    .map((part) => part.split("\t").map(printable).join("\t"))
    .join("\n");
}

/** One line for a terminal: `text` made printable, then a newline. */
export function line(text: string): string {
  return `${printable(text)}\n`;
}

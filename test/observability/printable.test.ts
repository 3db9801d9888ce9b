import { describe, expect, it } from "vitest";
import { line, printable } from "../../src/observability/printable.ts";

describe("printable", () => {
  it.each([
    ["plain text, unicode é ü 日本", "plain text, unicode é ü 日本"],
    ["a.yaml\nb.yaml:1:1: OK", "a.yaml\\nb.yaml:1:1: OK"],
    ["\u001b[2J\u001b[H", "\\x1b[2J\\x1b[H"],
    ["carriage\rreturn", "carriage\\rreturn"],
    ["tab\there", "tab\\there"],
    ["nul\u0000del\u007f", "nul\\x00del\\x7f"],
    ["c1 \u009b31m", "c1 \\x9b31m"],
    ["sep\u2028par\u2029", "sep\\u2028par\\u2029"],
    ["bidi \u202egnp.exe", "bidi \\u202egnp.exe"],
    ["isolate \u2066x\u2069", "isolate \\u2066x\\u2069"],
    ["back\\slash stays", "back\\slash stays"],
    ["", ""],
  ])("%j → %j", (input, expected) => {
    expect(printable(input)).toBe(expected);
  });

  it("never leaves a newline, an ESC or any other control character", () => {
    for (let code = 0; code < 0x3000; code++) {
      const out = printable(`x${String.fromCharCode(code)}y`);
      for (const ch of out) {
        const c = ch.charCodeAt(0);
        expect(c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029).toBe(false);
      }
    }
  });

  it("line() ends in exactly one newline", () => {
    expect(line("a\nb")).toBe("a\\nb\n");
  });
});

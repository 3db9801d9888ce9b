import { describe, expect, it } from "vitest";
import { fieldDiff, formatChange } from "../../src/api/field-diff.ts";

describe("fieldDiff", () => {
  const table: [string, unknown, unknown, string[]][] = [
    ["equal values", { a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }, []],
    ["a changed scalar", { spec: { image: "a" } }, { spec: { image: "b" } }, ['spec.image: "a" → "b"']],
    ["an added field", { spec: {} }, { spec: { gpus: 2 } }, ["spec.gpus: (unset) → 2"]],
    ["a removed field", { spec: { gpus: 2 } }, { spec: {} }, ["spec.gpus: 2 → (unset)"]],
    ["an array element", { args: ["a", "b"] }, { args: ["a", "c"] }, ['args[1]: "b" → "c"']],
    ["an array of another length", { args: ["a"] }, { args: ["a", "b"] }, ['args: ["a"] → ["a","b"]']],
  ];
  for (const [name, from, to, expected] of table) {
    it(name, () => {
      expect(fieldDiff(from, to).map(formatChange)).toEqual(expected);
    });
  }
});

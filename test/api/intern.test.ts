// StringInterner: one copy per repeated value, bounded; values themselves never change.
import { describe, expect, it } from "vitest";
import { StringInterner } from "../../src/api/intern.ts";

describe("StringInterner", () => {
  it("keeps each distinct short value once, and starts over when full", () => {
    const t = new StringInterner(3);
    for (const v of ["a", "b", "a", "c", "b"]) expect(t.intern(v)).toBe(v);
    expect(t.size).toBe(3);
    t.intern("d"); // full: a new table
    expect(t.size).toBe(1);
  });

  it("does not keep long values", () => {
    const t = new StringInterner();
    const long = "x".repeat(201);
    expect(t.intern(long)).toBe(long);
    expect(t.size).toBe(0);
  });

  it("internAll replaces string values in plain objects and arrays in place, leaving the data equal", () => {
    const t = new StringInterner();
    const date = new Date(0);
    const value = {
      spec: { image: "img:1", command: ["python", "train.py"], env: [{ name: "A", value: "1" }] },
      status: { conditions: [{ type: "Ready", message: "0 of 1 replica(s) started" }] },
      n: 3,
      none: null,
      date,
    };
    const copy = structuredClone(value);
    expect(t.internAll(value)).toBe(value);
    expect(value).toEqual(copy);
    expect(value.date).toBe(date); // not plain data: left alone
    expect(t.size).toBe(7);
  });
});

// StringInterner: one copy per repeated value, bounded; values themselves never change.
import { spawnSync } from "node:child_process";
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

  // V8's own view of the string (%DebugPrint, in a child with natives syntax): the interned copy of
  // a value cut out of a larger text is flat, so the text can go.
  it("keeps a flat copy of a value cut out of a larger text, not the slice that holds the text", () => {
    const script = `
      import { StringInterner } from ${JSON.stringify(new URL("../../src/api/intern.ts", import.meta.url).href)};
      const text = "x".repeat(1000) + "/data/set-123456789" + "y".repeat(1000);
      const cut = text.slice(1000, 1019);
      %DebugPrint(cut);
      const kept = new StringInterner().intern(cut);
      if (kept !== cut) throw new Error("not equal");
      %DebugPrint(kept);`;
    const r = spawnSync(
      process.execPath,
      [
        "--allow-natives-syntax",
        "--disable-warning=ExperimentalWarning",
        "--input-type=module",
        "-e",
        script,
      ],
      { encoding: "utf8", timeout: 30_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const types = [...r.stdout.matchAll(/- type: (\w+)/g)].map((m) => m[1]);
    expect(types).toEqual(["SLICED_ONE_BYTE_STRING_TYPE", "SEQ_ONE_BYTE_STRING_TYPE"]);
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

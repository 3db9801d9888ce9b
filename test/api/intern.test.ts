// StringInterner: one copy per repeated value, bounded; values themselves never change.
import { describe, expect, it } from "vitest";
import { inObject, StringInterner } from "../../src/api/intern.ts";
import { debugPrints, stringTypes } from "./v8-debug.ts";

const INTERNER = { "../../src/api/intern.ts": "StringInterner" };

describe("StringInterner", () => {
  it("keeps each short value from its second sighting on, once, and starts over when full", () => {
    const t = new StringInterner(3, 0); // no window of recent first sightings
    expect(t.intern("a")).toBe("a");
    expect(t.size).toBe(0); // seen once: not kept
    for (const v of ["b", "a", "c", "b", "c", "a"]) expect(t.intern(v)).toBe(v);
    expect(t.size).toBe(3);
    t.intern("d");
    expect(t.size).toBe(3);
    t.intern("d"); // full: a new table
    expect(t.size).toBe(1);
  });

  it("keeps next to nothing of values seen once each", () => {
    const t = new StringInterner();
    for (let i = 0; i < 10_000; i++) t.intern(`alloc-${i}-${i * 7919}`);
    // The filter of sightings may take a value for one seen before (~0.1 % at 10,000).
    expect(t.size).toBeLessThan(100);
    for (let i = 0; i < 1_000; i++) t.intern(`alloc-${i}-${i * 7919}`);
    expect(t.size).toBeGreaterThanOrEqual(1_000);
  });

  // V8's view: the string of a value seen twice close together is one (the first sighting's); past
  // the window of recent first sightings, the second sighting's is kept and shared from then on.
  it("gives a string seen twice close together its first sighting's copy", () => {
    const script = `
      const t = new StringInterner();
      const make = (i) => ["spec", "hash", String(i)].join("-");
      %DebugPrint(t.intern(make(1)));
      %DebugPrint(t.intern(make(1)));
      const early = t.intern(make(2));
      for (let i = 10; i < 5000; i++) t.intern(make(i)); // the window of first sightings goes by
      %DebugPrint(early);
      const kept = t.intern(make(2));
      %DebugPrint(kept);
      %DebugPrint(t.intern(make(2)));`;
    const out = debugPrints(INTERNER, script);
    const [a, b, early, kept, again] = [...out.matchAll(/^DebugPrint: (0x[0-9a-f]+)/gm)].map((m) => m[1]);
    expect(b).toBe(a);
    expect(kept).not.toBe(early);
    expect(again).toBe(kept);
  });

  it("shares the copy of a value's second sighting; the first holder keeps its own", () => {
    const t = new StringInterner();
    const shared = (items: unknown[]) => t.internAll({ items }).items;
    const once = shared(["python", "train.py"]);
    expect(Object.isFrozen(once)).toBe(false);
    const second = shared(["python", "train.py"]);
    expect(second).not.toBe(once);
    expect(Object.isFrozen(second)).toBe(true);
    expect(shared(["python", "train.py"])).toBe(second);
  });

  // V8's own view of the string (%DebugPrint, in a child with natives syntax): the interned copy of
  // a value cut out of a larger text is flat, so the text can go.
  it("keeps a flat copy of a value cut out of a larger text, not the slice that holds the text", () => {
    const script = `
      const text = "x".repeat(1000) + "/data/set-123456789" + "y".repeat(1000);
      const cut = text.slice(1000, 1019);
      %DebugPrint(cut);
      const kept = new StringInterner().intern(cut);
      if (kept !== cut) throw new Error("not equal");
      %DebugPrint(kept);`;
    const out = debugPrints(INTERNER, script);
    const types = stringTypes(out);
    expect(types).toEqual(["SLICED_ONE_BYTE_STRING_TYPE", "SEQ_ONE_BYTE_STRING_TYPE"]);
  });

  // V8's view again: a parser's array, grown by push, has room for 17 elements; after internAll
  // every array inside the value holds exactly its elements, at any depth, equal as before.
  it("gives every array inside the value a backing store of exactly its length", () => {
    const script = `
      const grown = (...items) => { const a = []; for (const i of items) a.push(i); return a; };
      const value = {
        spec: { command: grown("python", "train.py"), env: grown({ name: "A", value: "1" }) },
        nested: grown(grown(1, 2), grown()),
      };
      const before = JSON.stringify(value);
      %DebugPrint(value.spec.command);
      new StringInterner().internAll(value);
      if (JSON.stringify(value) !== before) throw new Error("changed");
      for (const a of [value.spec.command, value.spec.env, value.nested, value.nested[0], value.nested[1]]) %DebugPrint(a);`;
    const out = debugPrints(INTERNER, script);
    const stores = [...out.matchAll(/^ - elements: 0x[0-9a-f]+ <\w+\[(\d+)\]> \[/gm)].map((m) =>
      Number(m[1]),
    );
    expect(stores).toEqual([17, 2, 1, 2, 2, 0]);
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
    const t0 = new StringInterner(20_000, 0);
    const copy = structuredClone(value);
    t0.internAll(structuredClone(value)); // a first sighting of each
    expect(t0.internAll(value)).toBe(value);
    expect(t0.size).toBe(7);
    t.internAll(structuredClone(value)); // a first sighting of each
    expect(t.internAll(value)).toBe(value);
    expect(value).toEqual(copy);
    expect(value.date).toBe(date); // not plain data: left alone
    expect(t.size).toBe(0); // seen twice close together: given from the window, kept nowhere else
  });

  it("shares one frozen array of primitives between values that hold the same elements", () => {
    const t = new StringInterner();
    const job = (dataset: string) => ({
      spec: {
        command: ["python", "train.py"],
        args: ["--epochs", 10, "--fast", true, null],
        env: [{ name: "DATASET", value: dataset }],
        volumes: [] as string[],
      },
    });
    t.internAll(job("/data/first"));
    const [a, b] = [t.internAll(job("/data/a")), t.internAll(job("/data/b"))];
    expect(b.spec.command).toBe(a.spec.command);
    expect(b.spec.args).toBe(a.spec.args);
    expect(Object.isFrozen(a.spec.command)).toBe(true);
    expect(() => (a.spec.command as string[]).push("x")).toThrow(TypeError);
    // Arrays of objects stay each value's own; so do empty arrays (a caller may fill them).
    expect(b.spec.env).not.toBe(a.spec.env);
    expect(b.spec.env[0]?.value).toBe("/data/b");
    expect(b.spec.volumes).not.toBe(a.spec.volumes);
    expect(Object.isFrozen(a.spec.volumes)).toBe(false);
  });

  it("shares only arrays whose JSON says what they hold", () => {
    const t = new StringInterner();
    const shared = (items: unknown[]) => t.internAll({ items }).items;
    shared([null]);
    // JSON writes undefined, NaN, Infinity and null alike, and -0 as 0: such arrays are not shared.
    expect(shared([null])).toBe(shared([null]));
    for (const odd of [[undefined], [Number.NaN], [Number.POSITIVE_INFINITY], [-0]]) {
      expect(shared(odd)).not.toBe(shared([null]));
      expect(shared(odd)).not.toBe(shared(odd));
    }
    expect(shared(["1"])).not.toBe(shared([1]));
    expect(shared(["a,b"])).not.toBe(shared(["a", "b"]));
    // Long arrays and long texts are left to each value.
    const many = Array.from({ length: 33 }, (_, i) => i);
    expect(shared(many)).not.toBe(shared([...many]));
    expect(shared(["x".repeat(1_000)])).not.toBe(shared(["x".repeat(1_000)]));
  });

  it("shareTree shares one deep-frozen copy of a plain tree per JSON, never freezing the value given", () => {
    const t = new StringInterner();
    const groups = () => [
      { Name: "train", Count: 2, Tasks: [{ Name: "main", Resources: { CPU: 500, MemoryMB: 256 } }] },
    ];
    const once = groups();
    expect(t.shareTree(once)).toBe(once); // seen once: left as it is
    const given = groups();
    const first = t.shareTree(given);
    expect(first).toEqual(given);
    expect(first).not.toBe(given);
    expect(Object.isFrozen(given) || Object.isFrozen(given[0]?.Tasks[0]?.Resources)).toBe(false);
    expect([
      Object.isFrozen(first),
      Object.isFrozen(first[0]?.Tasks),
      Object.isFrozen(first[0]?.Tasks[0]?.Resources),
    ]).toEqual([true, true, true]);
    expect(t.shareTree(groups())).toBe(first);
    expect(() => {
      (first[0] as { Count: number }).Count = 3;
    }).toThrow(TypeError);
    // Another shape is another tree; what JSON cannot say is left to each value.
    const other = groups();
    (other[0] as { Count: number }).Count = 3;
    expect(t.shareTree(other)).not.toBe(first);
    for (const odd of [
      [{ a: undefined }],
      [{ a: Number.NaN }],
      [new Date(0)],
      [{ deep: [[[[[[[[[1]]]]]]]]] }],
    ]) {
      expect(t.shareTree(odd)).toBe(odd);
      expect(Object.isFrozen(odd)).toBe(false);
    }
    const long = [{ text: "x".repeat(4_000) }];
    expect(t.shareTree(long)).toBe(long);
  });

  // V8's own view: a parser's object of more than 4 members keeps the rest in a property array.
  it("with `spec`, a spec of more than 4 members becomes a copy with them all in the object itself", () => {
    const script = `
      const spec = {};
      for (const [k, v] of [["image", "t:1"], ["command", ["python"]], ["args", []], ["env", []], ["resources", { cpu: 1 }], ["suspend", false], ["priority", 50]]) spec[k] = v;
      const r = new StringInterner().internAll({ kind: "TrainingJob", metadata: { name: "a" }, spec }, { spec: true });
      if (r.spec === spec) throw new Error("not copied");
      if (JSON.stringify(r.spec) !== JSON.stringify(spec)) throw new Error("changed");
      if (Object.keys(r.spec).join() !== "image,command,args,env,resources,suspend,priority") throw new Error("order");
      %DebugPrint(spec);
      %DebugPrint(r.spec);`;
    const [before, after] = debugPrints(INTERNER, script)
      .split(/^DebugPrint:/m)
      .slice(1);
    expect(before).toMatch(/PropertyArray\[[1-9]/);
    expect(after).not.toMatch(/PropertyArray\[[1-9]/);
    expect(after).toMatch(/#priority: .* location: in-object/);
  });

  it("inObject copies an object of more than 4 members with the same values in the same order", () => {
    const built: Record<string, unknown> = {};
    const run = { id: "g1-ab", specHash: "cd", startTime: "2026-12-07T00:00:00Z" };
    for (const [k, v] of Object.entries({
      ...run,
      attempts: [],
      schedulerVersion: "1:2:1:cd",
      scheduler: "nomad",
      "2": 2,
    }))
      built[k] = v;
    const copy = inObject(built);
    expect(copy).not.toBe(built);
    expect(copy).toStrictEqual(built);
    expect(Object.keys(copy)).toEqual(Object.keys(built));
    expect(copy.attempts).toBe(built.attempts); // the same values, not copies
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    const few = { a: 1, b: 2, c: 3, d: 4 };
    expect(inObject(few)).toBe(few);
  });

  it("leaves a spec of at most 4 members, or one with a __proto__ key, as it is", () => {
    const t = new StringInterner();
    const small = { image: "t:1", suspend: false };
    expect(t.internAll({ spec: small }, { spec: true }).spec).toBe(small);
    const odd = JSON.parse('{"a":1,"b":2,"c":3,"d":4,"__proto__":{"x":1}}') as object;
    const kept = t.internAll({ spec: odd }, { spec: true }).spec;
    expect(kept).toBe(odd);
    expect(Object.getPrototypeOf(kept)).toBe(Object.prototype);
  });

  it("keeps at most its bound of shared arrays, starting over when full", () => {
    const t = new StringInterner(2);
    const shared = (items: unknown[]) => t.internAll({ items }).items;
    shared(["a"]);
    const first = shared(["a"]);
    expect(shared(["a"])).toBe(first);
    shared(["b"]);
    shared(["b"]);
    shared(["c"]);
    shared(["c"]); // full: a new table, which no longer knows ["a"]
    expect(shared(["a"])).not.toBe(first);
  });

  it("with `spec`, shares the plain objects of primitives inside the spec and the labels, and only there", () => {
    const t = new StringInterner();
    const job = (name: string) => ({
      metadata: { name, labels: { team: "vision" } },
      spec: {
        resources: { cpu: 500, memoryMB: 1024 },
        metrics: { port: 9100, path: "/metrics" },
        env: [{ name: "EPOCHS", value: "5" }],
        retry: { policy: { limit: 3 }, on: ["OOMKilled"] },
        gone: { value: undefined },
      },
      status: { conditions: [{ type: "Ready", status: "True" }] },
    });
    t.internAll(job("first"), { spec: true });
    const [a, b] = [t.internAll(job("a"), { spec: true }), t.internAll(job("b"), { spec: true })];
    expect(b.spec.resources).toBe(a.spec.resources);
    expect(b.spec.metrics).toBe(a.spec.metrics);
    expect(b.spec.env[0]).toBe(a.spec.env[0]);
    expect(b.spec.retry.policy).toBe(a.spec.retry.policy); // at any depth inside the spec
    expect(Object.isFrozen(a.spec.resources)).toBe(true);
    expect(() => {
      (a.spec.resources as { cpu: number }).cpu = 1;
    }).toThrow(TypeError);
    // The spec itself, an object holding objects, an undefined member: each value's own.
    expect(b.spec).not.toBe(a.spec);
    expect(b.spec.retry).not.toBe(a.spec.retry);
    expect(b.spec.gone).not.toBe(a.spec.gone);
    // So are the labels (and annotations); outside those (status) objects stay each value's own.
    expect(b.metadata.labels).toBe(a.metadata.labels);
    expect(Object.isFrozen(a.metadata)).toBe(false);
    expect(b.status.conditions[0]).not.toBe(a.status.conditions[0]);
    expect(Object.isFrozen(a.status.conditions[0])).toBe(false);
    // Without the option, nothing but arrays of primitives is shared.
    const [c, d] = [t.internAll(job("c")), t.internAll(job("d"))];
    expect(d.spec.resources).not.toBe(c.spec.resources);
    expect(d.metadata.labels).not.toBe(c.metadata.labels);
    expect(d.spec.retry.on).toBe(c.spec.retry.on);
  });
});

import { describe, expect, it } from "vitest";
import type { AnyResource, ResourceKey } from "../../src/api/resources.ts";
import { type PrunePolicy, ResourceTable } from "../../src/sources/directory/index.ts";
import { specHash } from "../../src/sources/state/index.ts";
import { loadText } from "../../src/sources/yaml/index.ts";

const job = (name: string, image = "img:1") =>
  `apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata:\n  name: ${name}\nspec:\n  image: ${image}\n`;
const key = (name: string): ResourceKey => `TrainingJob/default/${name}`;

const POLICY: PrunePolicy = {
  settleMs: 1000,
  enabled: true,
  mass: { maxFraction: 0.5, maxCount: 10, allow: false },
};

function table(policy: PrunePolicy = POLICY) {
  const generations = new Map<ResourceKey, { g: number; h: string }>();
  const t = new ResourceTable({
    hash: specHash,
    display: (f) => f,
    stamp: (k, r, h) => {
      const cur = generations.get(k);
      const next = cur && cur.h === h ? cur : { g: (cur?.g ?? 0) + 1, h };
      generations.set(k, next);
      r.metadata.generation = next.g;
    },
  });
  const set = (file: string, text: string | undefined) =>
    t.setFile(file, text === undefined ? undefined : loadText(file, text));
  // As the directory source judges a read (the directory present).
  const clean = () =>
    t.brokenFiles().length === 0 && t.duplicates().length === 0 && t.unreadable().length === 0;
  let at = 0;
  let seq = 0;
  /** A full read `after` ms after the previous one; the keys it pruned. */
  const full = (after = 1000) => {
    at += after;
    return t.endFullRead({ seq: ++seq, at, version: t.version, clean: clean() }, policy, () => undefined);
  };
  const read = (after = 1000) => full(after).pruned.map((d) => d.key);
  return { t, set, read, full, clean };
}

describe("ResourceTable", () => {
  it("present, then generation bumps on spec change only", () => {
    const { t, set } = table();
    expect([...set("a.yaml", job("a"))]).toEqual([key("a")]);
    expect(t.lookup(key("a"))).toMatchObject({ state: "present", resource: { metadata: { generation: 1 } } });
    set("a.yaml", `# comment\n${job("a")}`);
    expect(t.lookup(key("a"))).toMatchObject({ state: "present", resource: { metadata: { generation: 1 } } });
    set("a.yaml", job("a", "img:2"));
    expect(t.lookup(key("a"))).toMatchObject({ state: "present", resource: { metadata: { generation: 2 } } });
  });

  it("a removed resource is deleted after two clean reads, keeping its last known version until then", () => {
    const { t, set, read } = table();
    set("a.yaml", job("a"));
    set("b.yaml", job("b"));
    read();
    set("b.yaml", undefined);
    expect(read()).toEqual([]);
    expect(t.lookup(key("b"))).toMatchObject({ state: "present", resource: { metadata: { name: "b" } } });
    expect(read()).toEqual([key("b")]);
    const found = t.lookup(key("b"));
    expect(found.state).toBe("deleted");
    expect(found.state === "deleted" && (found.lastKnown as AnyResource).metadata.name).toBe("b");
    t.forget(key("b"));
    expect(t.lookup(key("b"))).toEqual({ state: "absent" });
  });

  it("unclean reads do not count towards deletion", () => {
    const { t, set, read, clean } = table();
    set("a.yaml", job("a"));
    set("b.yaml", job("b"));
    set("b.yaml", undefined);
    set("c.yaml", `${job("c")}  replica: 2\n`);
    expect(clean()).toBe(false);
    for (let i = 0; i < 5; i++) expect(read()).toEqual([]);
    set("c.yaml", job("c"));
    expect(read()).toEqual([]);
    expect(read()).toEqual([key("b")]);
    expect(t.lookup(key("a")).state).toBe("present");
  });

  it("a broken file turns its last good resources invalid (with lastKnown), and back when fixed", () => {
    const { t, set } = table();
    set("a.yaml", `${job("a")}---\n${job("b")}`);
    set("a.yaml", "kind: [\n");
    for (const name of ["a", "b"]) {
      const found = t.lookup(key(name));
      expect(found).toMatchObject({ state: "invalid", lastKnown: { metadata: { name } } });
      expect(found.state === "invalid" && found.error.message).toMatch(/^a\.yaml:2:1: /);
    }
    set("a.yaml", job("a"));
    expect(t.lookup(key("a")).state).toBe("present");
    expect(t.lookup(key("b")).state).toBe("present"); // missing now, not yet deleted
    expect(t.missing()).toEqual([key("b")]);
  });

  it("a key in two files is invalid naming both; removing one resolves it", () => {
    const { t, set } = table();
    set("one.yaml", job("x"));
    set("two.yaml", job("x", "img:2"));
    expect(t.duplicates()).toEqual([key("x")]);
    const found = t.lookup(key("x"));
    expect(found.state === "invalid" && found.error.message).toBe(
      "one.yaml:1:1: TrainingJob/default/x is also defined in two.yaml:1:1: duplicate resource",
    );
    set("one.yaml", undefined);
    expect(t.duplicates()).toEqual([]);
    expect(t.lookup(key("x"))).toMatchObject({ state: "present", resource: { spec: { image: "img:2" } } });
  });

  it("a key's last known resource is its last valid single claim, through edits, duplicates and breaks", () => {
    const { t, set } = table();
    const lastKnownImage = (name: string) => {
      const found = t.lookup(key(name));
      return found.state === "invalid" ? found.lastKnown?.spec : undefined;
    };
    set("a.yaml", job("a", "img:1"));
    set("a.yaml", job("a", "img:2"));
    // Another file claims it too: invalid, and the last good is the one claim it had.
    set("b.yaml", job("a", "img:3"));
    expect(lastKnownImage("a")).toMatchObject({ image: "img:2" });
    // Still two claims after an edit of either: the last good stays the last single one.
    set("b.yaml", job("a", "img:4"));
    set("a.yaml", job("a", "img:5"));
    expect(lastKnownImage("a")).toMatchObject({ image: "img:2" });
    set("a.yaml", undefined);
    expect(t.lookup(key("a"))).toMatchObject({ state: "present", resource: { spec: { image: "img:4" } } });
    // Its one file broken: the claim it had is its last known, kept as the file's claims go.
    set("b.yaml", "kind: [\n");
    expect(lastKnownImage("a")).toMatchObject({ image: "img:4" });
    set("b.yaml", job("a", "img:6"));
    set("b.yaml", `${job("a", "img:7")}  replicas: -1\n`);
    expect(lastKnownImage("a")).toMatchObject({ image: "img:6" });
    // Gone from every file: missing, listed as its last good until pruned.
    set("b.yaml", undefined);
    expect(t.missing()).toEqual([key("a")]);
    expect(t.list("TrainingJob").map((r) => r.spec)).toMatchObject([{ image: "img:6" }]);
  });

  it("gives a clean file's one valid document from its claim, and nothing for any other file", () => {
    const { t, set } = table();
    set("a.yaml", `# a comment line\n${job("a")}`);
    set("two.yaml", `${job("b")}---\n${job("c")}`);
    set("bad.yaml", `${job("d")}  replicas: -1\n`);
    set("broken.yaml", job("e"));
    set("broken.yaml", "kind: [\n");
    const found = t.lookup(key("a"));
    expect(t.cleanDocument("a.yaml")).toStrictEqual({
      ok: true,
      resource: found.state === "present" ? found.resource : undefined,
      line: 2,
      col: 1,
    });
    for (const file of ["two.yaml", "bad.yaml", "broken.yaml", "none.yaml"])
      expect(t.cleanDocument(file), file).toBeUndefined();
  });

  it("tells which keys a read changed, against each key's lookup before the read", () => {
    const { t, set, full } = table({ ...POLICY, settleMs: 0 });
    const changed = (read: () => Iterable<ResourceKey>) => {
      t.watchChanges();
      return t.changed(read());
    };
    // The first read notes nothing: every key it found is a change.
    t.watchChanges(false);
    expect(t.changed([...set("a.yaml", job("a")), ...set("b.yaml", job("b"))])).toEqual([key("a"), key("b")]);
    // A comment, or a key moved to another file as it was: no change.
    expect(changed(() => set("a.yaml", `# moved\n${job("a")}`))).toEqual([]);
    expect(changed(() => [...set("a.yaml", undefined), ...set("c.yaml", job("a"))])).toEqual([]);
    // A spec (a generation), labels: a change.
    expect(changed(() => set("c.yaml", job("a", "img:2")))).toEqual([key("a")]);
    const labelled = job("b").replace("name: b", "name: b\n  labels: {team: x}");
    expect(changed(() => set("b.yaml", labelled))).toEqual([key("b")]);
    // Duplicated and resolved within one read: as it was. Left duplicated: a change (invalid).
    expect(changed(() => [...set("d.yaml", job("b")), ...set("d.yaml", undefined)])).toEqual([]);
    expect(changed(() => set("d.yaml", job("b")))).toEqual([key("b")]);
    expect(changed(() => set("d.yaml", undefined))).toEqual([key("b")]);
    // Gone: listed as its last good (no change) until a full read prunes it (a change).
    expect(changed(() => set("b.yaml", undefined))).toEqual([]);
    expect(changed(() => full().pruned.map((d) => d.key))).toEqual([]);
    expect(changed(() => full().pruned.map((d) => d.key))).toEqual([key("b")]);
    expect(t.lookup(key("b")).state).toBe("deleted");
  });

  it("list returns present resources by kind and namespace", () => {
    const { t, set } = table();
    set("a.yaml", `${job("a")}---\n${job("b").replace("name: b", "name: b\n  namespace: other")}`);
    expect(t.list("TrainingJob").map((r) => r.metadata.name)).toEqual(["a", "b"]);
    expect(t.list("TrainingJob", "other").map((r) => r.metadata.name)).toEqual(["b"]);
    expect(t.list("MlopsStack")).toEqual([]);
  });

  it("list of a kind follows its keys as files gain, lose, duplicate and give them up", () => {
    const { t, set } = table();
    const stack = "apiVersion: mlops.dev/v1alpha1\nkind: MlopsStack\nmetadata:\n  name: s\nspec: {}\n";
    set("a.yaml", `${job("a")}---\n${stack}`);
    set("b.yaml", job("b"));
    expect(t.list("TrainingJob").map((r) => r.metadata.name)).toEqual(["a", "b"]);
    expect(t.list("MlopsStack").map((r) => r.metadata.name)).toEqual(["s"]);
    set("c.yaml", job("b", "img:2")); // b twice: invalid, not listed
    expect(t.list("TrainingJob").map((r) => r.metadata.name)).toEqual(["a"]);
    set("b.yaml", undefined);
    expect(t.list("TrainingJob").map((r) => r.metadata.name)).toEqual(["a", "b"]);
    set("a.yaml", job("a")); // the stack's file gave it up: listed as last known until pruned
    expect(t.list("MlopsStack").map((r) => r.metadata.name)).toEqual(["s"]);
    expect(t.list("TrainingJob").map((r) => r.metadata.name)).toEqual(["b", "a"]); // a read again last
  });

  it("a change anywhere in the tree between the two full reads restarts the settle interval", () => {
    const { t, set, read } = table();
    set("a.yaml", job("a"));
    set("b.yaml", job("b"));
    set("c.yaml", job("c"));
    read();
    set("b.yaml", undefined);
    expect(read()).toEqual([]);
    // Another file is written before the confirming read: the two reads did not see the same tree.
    set("c.yaml", job("c", "img:2"));
    expect(read()).toEqual([]);
    expect(t.lookup(key("b")).state).toBe("present");
    expect(read()).toEqual([key("b")]);
  });

  it("two full reads closer than the settle interval do not prune", () => {
    const { t, set, read } = table();
    set("a.yaml", job("a"));
    set("b.yaml", job("b"));
    set("b.yaml", undefined);
    expect(read()).toEqual([]);
    expect(read(999)).toEqual([]);
    expect(t.missing()).toEqual([key("b")]);
    expect(read(1)).toEqual([key("b")]);
  });

  it("an unreadable entry of any file blocks every prune until it is fixed or gone", () => {
    const { t, set, read } = table();
    set("a.yaml", job("a"));
    set("b.yaml", job("b"));
    set("b.yaml", undefined);
    set("empty.yaml", "");
    set("ci.yaml", "on: [push\n");
    expect(t.unreadable().map((u) => [u.file, u.message.split(":")[0]])).toEqual([
      ["empty.yaml", "empty file (0 bytes)"],
      ["ci.yaml", expect.any(String)],
    ]);
    for (let i = 0; i < 3; i++) expect(read()).toEqual([]);
    set("empty.yaml", "# deliberately empty\n");
    set("ci.yaml", "---\n");
    expect(t.unreadable()).toEqual([]);
    expect(read()).toEqual([]);
    expect(read()).toEqual([key("b")]);
  });

  it("prune disabled (annotation or policy): the key is retained, never deleted", () => {
    const annotated = job("b").replace(
      "  name: b\n",
      "  name: b\n  annotations:\n    mlops.dev/prune: disabled\n",
    );
    const { t, set, full } = table();
    set("a.yaml", job("a"));
    set("b.yaml", annotated);
    set("c.yaml", job("c"));
    set("b.yaml", undefined);
    set("c.yaml", undefined);
    full();
    const outcome = full();
    expect(outcome.pruned.map((d) => d.key)).toEqual([key("c")]);
    expect(outcome.retained.map((d) => d.key)).toEqual([key("b")]);
    expect(t.lookup(key("b"))).toMatchObject({ state: "retained", lastKnown: { metadata: { name: "b" } } });
    expect(t.list("TrainingJob").map((r) => r.metadata.name)).toEqual(["a"]);
    set("b.yaml", annotated);
    expect(t.lookup(key("b")).state).toBe("present");

    const off = table({ ...POLICY, enabled: false });
    off.set("a.yaml", job("a"));
    off.set("b.yaml", job("b"));
    off.set("b.yaml", undefined);
    off.full();
    expect(off.full()).toMatchObject({ pruned: [], retained: [{ key: key("b") }] });
  });

  it("a mass prune (more than half and more than ten) prunes nothing until allowed", () => {
    const names = Array.from({ length: 20 }, (_, i) => `j${i}`);
    const setUp = (policy: PrunePolicy) => {
      const tb = table(policy);
      for (const n of names) tb.set(`${n}.yaml`, job(n));
      for (const n of names.slice(0, 11)) tb.set(`${n}.yaml`, undefined);
      tb.full();
      return tb;
    };
    const guarded = setUp(POLICY);
    const blocked = guarded.full();
    expect(blocked.pruned).toEqual([]);
    expect(blocked.massBlocked).toEqual({ keys: names.slice(0, 11).map(key).sort(), total: 20 });
    expect(guarded.t.lookup(key("j0")).state).toBe("present");
    expect(guarded.full().massBlocked?.keys).toHaveLength(11);
    const allowed = setUp({ ...POLICY, mass: { ...POLICY.mass, allow: true } });
    expect(allowed.full().pruned).toHaveLength(11);
    // Ten of twenty: not more than ten, so no confirmation is needed.
    const ten = table();
    for (const n of names) ten.set(`${n}.yaml`, job(n));
    for (const n of names.slice(0, 10)) ten.set(`${n}.yaml`, undefined);
    ten.full();
    expect(ten.full().pruned).toHaveLength(10);
  });

  it("every resource gone (no file declares any) prunes nothing until allowed, whatever the count", () => {
    const setUp = (policy: PrunePolicy) => {
      const tb = table(policy);
      tb.set("a.yaml", job("a"));
      tb.set("b.yaml", job("b"));
      tb.set("a.yaml", undefined);
      tb.full();
      expect(tb.full().pruned.map((d) => d.key)).toEqual([key("a")]); // one of two: an ordinary prune
      tb.set("b.yaml", undefined);
      tb.full();
      return tb;
    };
    const guarded = setUp(POLICY);
    const blocked = guarded.full();
    expect(blocked.pruned).toEqual([]);
    expect(blocked.massBlocked).toEqual({ keys: [key("b")], total: 1, emptied: true });
    expect(guarded.t.lookup(key("b")).state).toBe("present");
    // A file that comes back with any resource ends it: the rest is an ordinary prune again.
    guarded.set("c.yaml", job("c"));
    guarded.full();
    expect(guarded.full().pruned.map((d) => d.key)).toEqual([key("b")]);
    const allowed = setUp({ ...POLICY, mass: { ...POLICY.mass, allow: true } });
    expect(allowed.full().pruned.map((d) => d.key)).toEqual([key("b")]);
  });
});

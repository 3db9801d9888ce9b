import { describe, expect, it } from "vitest";
import type { AnyResource, ResourceKey } from "../../src/api/resources.ts";
import { ResourceTable } from "../../src/sources/directory/index.ts";
import { specHash } from "../../src/sources/state/index.ts";
import { loadText } from "../../src/sources/yaml/index.ts";

const job = (name: string, image = "img:1") =>
  `apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata:\n  name: ${name}\nspec:\n  image: ${image}\n`;
const key = (name: string): ResourceKey => `TrainingJob/default/${name}`;

function table() {
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
  const clean = () => t.brokenFiles().length === 0 && t.duplicates().length === 0 && t.hasResources();
  const read = () => t.endRead(clean(), () => undefined);
  return { t, set, read, clean };
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

  it("list returns present resources by kind and namespace", () => {
    const { t, set } = table();
    set("a.yaml", `${job("a")}---\n${job("b").replace("name: b", "name: b\n  namespace: other")}`);
    expect(t.list("TrainingJob").map((r) => r.metadata.name)).toEqual(["a", "b"]);
    expect(t.list("TrainingJob", "other").map((r) => r.metadata.name)).toEqual(["b"]);
    expect(t.list("MlopsStack")).toEqual([]);
  });
});

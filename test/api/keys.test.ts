// One string per live resource key: held while a resource has a generation, given by makeKey (and
// for the Nomad jobs' Meta) instead of a new copy; nothing kept once the resource is gone.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { KeyTable, liveKeys } from "../../src/api/keys.ts";
import type { ResourceKey } from "../../src/api/resources.ts";
import { Generations } from "../../src/sources/state/generations.ts";
import { debugPrints } from "./v8-debug.ts";

describe("KeyTable", () => {
  it("holds a key as many times as it is held; the last release drops it", () => {
    const t = new KeyTable();
    expect(t.hold("TrainingJob/a/b")).toBe("TrainingJob/a/b");
    t.hold("TrainingJob/a/b");
    t.hold(["TrainingJob", "a", "b"].join("/"));
    expect([t.size, t.holds("TrainingJob/a/b")]).toEqual([1, true]);
    t.release("TrainingJob/a/b");
    t.release("TrainingJob/a/b");
    expect(t.holds("TrainingJob/a/b")).toBe(true);
    t.release("TrainingJob/a/b");
    t.release("TrainingJob/a/b"); // one too many: nothing to drop
    expect([t.size, t.holds("TrainingJob/a/b")]).toEqual([0, false]);
    expect(t.canonical("TrainingJob/x/y")).toBe("TrainingJob/x/y");
  });

  // V8's own view (%DebugPrint of one array, so both addresses are read at the same moment): the
  // key makeKey gives is the held string itself, where a join of the same parts is another string.
  it("makeKey gives the held string itself, not an equal copy", () => {
    const script = `
      const held = liveKeys.hold(["TrainingJob", "team-a", "resnet-50"].join("/"));
      const made = makeKey("TrainingJob", "team-a", "resnet-50");
      const fresh = ["TrainingJob", "team-a", "resnet-50"].join("/");
      if (made !== held || fresh !== held) throw new Error("not equal");
      %DebugPrint([held, made, fresh]);`;
    const out = debugPrints(
      { "../../src/api/keys.ts": "liveKeys", "../../src/api/resources.ts": "makeKey" },
      script,
    );
    // Elements as V8 prints them: "0-1: 0x… <String…>" for two equal neighbours, "2: 0x…" alone.
    const addresses: string[] = [];
    for (const m of out.matchAll(/^\s+(\d+)(?:-(\d+))?: (0x[0-9a-f]+) <String/gm)) {
      for (let i = Number(m[1]); i <= Number(m[2] ?? m[1]); i++) addresses[i] = m[3] as string;
    }
    expect(addresses).toHaveLength(3);
    expect(addresses[1]).toBe(addresses[0]);
    expect(addresses[2]).not.toBe(addresses[0]);
  });
});

describe("Generations hold the keys of their resources", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("from the snapshot, a new resource and the journal; a deleted resource's key is let go of", async () => {
    dir = mkdtempSync(join(tmpdir(), "mlops-keys-"));
    const entry = { generation: 3, specHash: "h", created: "2026-01-01T00:00:00.000Z" };
    const loaded = "TrainingJob/keys-test/loaded" as ResourceKey;
    const started = "TrainingJob/keys-test/started" as ResourceKey;
    writeFileSync(
      join(dir, "generations.json"),
      JSON.stringify({ version: 1, resources: { [loaded]: entry } }),
    );
    const g = new Generations(dir);
    expect(liveKeys.holds(loaded)).toBe(true);
    g.observe(started, "h1", new Date());
    g.observe(started, "h2", new Date()); // a new generation of the same key: held once
    expect(liveKeys.holds(started)).toBe(true);
    g.delete(started);
    expect(liveKeys.holds(started)).toBe(false);
    await g.flush();
    // A restart replays the journal: the deleted key is not held again, the loaded one is held.
    const again = new Generations(dir);
    expect([liveKeys.holds(loaded), liveKeys.holds(started)]).toEqual([true, false]);
    again.delete(loaded);
    g.delete(loaded);
    expect(liveKeys.holds(loaded)).toBe(false);
    await again.close();
    await g.close();
  });
});

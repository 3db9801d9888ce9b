import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ResourceKey } from "../../src/api/resources.ts";
import { DirectorySource } from "../../src/sources/directory/index.ts";
import { readRecord, StateStore } from "../../src/sources/state/index.ts";

let root: string;
let dir: string;
let stateDir: string;
const open: DirectorySource[] = [];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "mlops-dir-test-"));
  dir = join(root, "repo");
  stateDir = join(root, "state");
  mkdirSync(dir);
});
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  rmSync(root, { recursive: true, force: true });
});

const job = (name: string, image = "img:1") =>
  `apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata:\n  name: ${name}\nspec:\n  image: ${image}\n`;
const key = (name: string): ResourceKey => `TrainingJob/default/${name}`;

async function startSource(options: { once?: boolean; settleMs?: number } = {}) {
  const store = new StateStore(stateDir);
  const source = new DirectorySource({ dir, store, settleMs: options.settleMs ?? 50, ...options });
  const seen: ResourceKey[] = [];
  source.changes().subscribe((k) => seen.push(k));
  await source.start();
  open.push(source);
  return { source, store, seen };
}

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("DirectorySource: reading", () => {
  it("reads a tree (multi-document files, subdirectories), skipping dot-directories and other YAML", async () => {
    mkdirSync(join(dir, "team", ".hidden"), { recursive: true });
    writeFileSync(join(dir, "a.yaml"), `${job("a")}---\n${job("b")}`);
    writeFileSync(join(dir, "team", "c.yml"), job("c"));
    writeFileSync(join(dir, "team", ".hidden", "d.yaml"), job("d"));
    writeFileSync(join(dir, "ci.yaml"), "name: ci\non: [push]\n");
    writeFileSync(join(dir, "notes.txt"), job("e"));
    symlinkSync(dir, join(dir, "team", "loop"));
    const { source } = await startSource();
    expect(
      source
        .list("TrainingJob")
        .map((r) => r.metadata.name)
        .sort(),
    ).toEqual(["a", "b", "c"]);
    expect(source.settled()).toBe(true);
    expect(source.lookup(key("a"))).toMatchObject({
      state: "present",
      resource: { metadata: { generation: 1 } },
    });
    expect(source.lookup(key("d"))).toEqual({ state: "absent" });
    expect(source.defaultOwnerId).toMatch(/^[0-9a-f]{16}$/);
    expect(source.description).toBe(`directory ${dir}`);
  });

  it("an invalid file makes its resource invalid with file:line:col, and the source unsettled", async () => {
    writeFileSync(join(dir, "good.yaml"), job("good"));
    writeFileSync(join(dir, "bad.yaml"), `${job("bad")}  replica: 3\n`);
    const { source } = await startSource();
    const bad = source.lookup(key("bad"));
    expect(bad.state).toBe("invalid");
    if (bad.state === "invalid") {
      expect(bad.error.reason).toBe("InvalidSpec");
      expect(bad.error.message).toBe('bad.yaml:7:3: spec.replica unknown field (did you mean "replicas"?)');
    }
    expect(source.lookup(key("good")).state).toBe("present");
    expect(source.settled()).toBe(false);
  });

  it("keeps generations across restarts, bumping only on spec change", async () => {
    writeFileSync(join(dir, "a.yaml"), job("a"));
    const first = await startSource();
    expect(first.source.get(key("a"))?.metadata.generation).toBe(1);
    await first.source.close();
    await first.store.close();
    writeFileSync(
      join(dir, "a.yaml"),
      `# reformatted\n${job("a").replace("image: img:1", "image: 'img:1'")}`,
    );
    const second = await startSource();
    expect(second.source.get(key("a"))?.metadata.generation).toBe(1);
    await second.source.close();
    await second.store.close();
    writeFileSync(join(dir, "a.yaml"), job("a", "img:2"));
    const third = await startSource();
    expect(third.source.get(key("a"))?.metadata.generation).toBe(2);
  });

  it("keeps the status as recorded when a write changes nothing (one copy, shared with the status page)", async () => {
    writeFileSync(join(dir, "a.yaml"), job("a"));
    const first = await startSource();
    const resource = first.source.get(key("a"));
    if (resource?.kind !== "TrainingJob") throw new Error("no job");
    const status = { phase: "Running" as const, observedGeneration: 1 };
    await first.source.write(resource, status);
    await first.source.close();
    await first.store.close();
    // Followed before the source reads, as the status page follows the store.
    const store = new StateStore(stateDir);
    store.recordChanges().subscribe(() => {});
    const source = new DirectorySource({ dir, store, settleMs: 20 });
    await source.start();
    open.push(source);
    const second = { source, store };
    const again = second.source.get(key("a"));
    if (again?.kind !== "TrainingJob") throw new Error("no job");
    const equal = { phase: "Running" as const, observedGeneration: 1 };
    await second.source.write(again, equal);
    const recorded = second.store.recorded(key("a"));
    expect(recorded?.status).toEqual(equal);
    expect(second.source.get(key("a"))?.status).toBe(recorded?.status);
    expect(second.store.writes).toBe(0);
    const changed = { phase: "Succeeded" as const, observedGeneration: 1 };
    await second.source.write(again, changed);
    expect(second.source.get(key("a"))?.status).toBe(changed);
  });

  it("writes status through the state directory; resources carry it, across restarts and edits", async () => {
    writeFileSync(join(dir, "a.yaml"), job("a"));
    const first = await startSource();
    const resource = first.source.get(key("a"));
    if (resource?.kind !== "TrainingJob") throw new Error("no job");
    const status = {
      phase: "Succeeded" as const,
      observedGeneration: 1,
      run: { id: "r1", outcome: "Succeeded" as const },
    };
    await first.source.write(resource, status);
    await first.store.flush(); // status files are written behind, in batches
    expect((await readRecord(stateDir, key("a")))?.status).toEqual(status);
    expect(first.source.get(key("a"))?.status).toEqual(status);
    await first.source.close();
    await first.store.close();
    const second = await startSource({ settleMs: 20 });
    expect(second.source.get(key("a"))?.status).toEqual(status);
    writeFileSync(join(dir, "a.yaml"), job("a", "img:2"));
    await until("a edited", () => second.source.get(key("a"))?.metadata.generation === 2);
    expect(second.source.get(key("a"))?.status).toEqual(status);
    rmSync(join(dir, "a.yaml"));
    writeFileSync(join(dir, "other.yaml"), job("other"));
    await until("a deleted", () => second.source.lookup(key("a")).state === "deleted");
    expect(second.source.lookup(key("a"))).toMatchObject({ state: "deleted", lastKnown: { status } });
    await second.source.forget(key("a"));
    expect(await readRecord(stateDir, key("a"))).toBeUndefined();
    expect(second.source.lookup(key("a"))).toEqual({ state: "absent" });
  });

  it("a resource deleted while the operator was down is deleted with its stored spec and status", async () => {
    writeFileSync(join(dir, "a.yaml"), job("a"));
    writeFileSync(join(dir, "b.yaml"), job("b"));
    const first = await startSource({ once: true });
    const b = first.source.get(key("b"));
    if (b?.kind !== "TrainingJob") throw new Error("no job");
    await first.source.write(b, { phase: "Running", observedGeneration: 1 });
    await first.source.close();
    await first.store.close();
    rmSync(join(dir, "b.yaml"));
    const second = await startSource({ once: true });
    expect(second.source.lookup(key("b"))).toMatchObject({
      state: "deleted",
      lastKnown: {
        metadata: { name: "b", generation: 1 },
        spec: { image: "img:1" },
        status: { phase: "Running" },
      },
    });
  });

  it("duplicate keys across files: both invalid naming both files, nothing deleted", async () => {
    writeFileSync(join(dir, "one.yaml"), job("same"));
    writeFileSync(join(dir, "two.yaml"), `# second\n${job("same", "img:2")}`);
    const { source } = await startSource({ once: true });
    const found = source.lookup(key("same"));
    expect(found.state).toBe("invalid");
    if (found.state === "invalid") {
      expect(found.error.message).toBe(
        "one.yaml:1:1: TrainingJob/default/same is also defined in two.yaml:2:1: duplicate resource",
      );
    }
    expect(source.settled()).toBe(false);
  });
});

describe("DirectorySource: prune guards", () => {
  /** A previous run saw `a` and `b`; this one may find b's file gone. */
  async function previousRun(): Promise<void> {
    writeFileSync(join(dir, "a.yaml"), job("a"));
    writeFileSync(join(dir, "b.yaml"), job("b"));
    const { source, store } = await startSource({ once: true });
    await source.close();
    await store.close();
    open.length = 0;
  }

  it("--once after a file is removed prunes it (two settled reads in one run)", async () => {
    await previousRun();
    rmSync(join(dir, "b.yaml"));
    const { source, seen } = await startSource({ once: true });
    expect(source.lookup(key("b"))).toMatchObject({ state: "deleted" });
    expect(source.lookup(key("a")).state).toBe("present");
    expect(seen).toContain(key("b"));
  });

  it("watch: a resource gone while the operator was down is not settled until a second read agrees", async () => {
    await previousRun();
    rmSync(join(dir, "b.yaml"));
    const { source } = await startSource({ settleMs: 200 });
    // Orphan cleanup asks settled(): one read is not enough to call b's run an orphan.
    expect(source.settled()).toBe(false);
    expect(source.lookup(key("b")).state).toBe("absent");
    await until("b deleted", () => source.lookup(key("b")).state === "deleted");
    expect(source.settled()).toBe(true);
  });

  it.each([
    {
      name: "an invalid file",
      change: () => {
        rmSync(join(dir, "b.yaml"));
        writeFileSync(join(dir, "a.yaml"), `${job("a")}  bogus: [\n`);
      },
    },
    {
      name: "an unreadable (binary) mlops.dev file",
      change: () => {
        rmSync(join(dir, "b.yaml"));
        writeFileSync(join(dir, "c.yaml"), Buffer.concat([Buffer.from(job("c")), Buffer.from([0])]));
      },
    },
    { name: "a missing directory", change: () => rmSync(dir, { recursive: true }) },
    {
      name: "an empty directory",
      change: () => {
        rmSync(join(dir, "a.yaml"));
        rmSync(join(dir, "b.yaml"));
      },
    },
  ])("nothing is pruned with $name", async ({ change }) => {
    await previousRun();
    change();
    const { source } = await startSource({ once: true });
    expect(source.lookup(key("b")).state).not.toBe("deleted");
    expect(source.settled()).toBe(false);
  });

  it("a broken file's resources stay (invalid, from its last good contents), never deleted", async () => {
    writeFileSync(join(dir, "a.yaml"), `${job("a")}---\n${job("a2")}`);
    const { source } = await startSource({ settleMs: 20 });
    writeFileSync(join(dir, "a.yaml"), "apiVersion: mlops.dev/v1alpha1\nkind: [unclosed\n");
    await until("a invalid", () => source.lookup(key("a")).state === "invalid");
    await pause(150);
    for (const name of ["a", "a2"]) {
      const found = source.lookup(key(name));
      expect(found.state).toBe("invalid");
      if (found.state === "invalid") {
        expect(found.error.message).toMatch(/^a\.yaml:\d+:\d+: /);
        expect(found.lastKnown?.metadata.name).toBe(name);
      }
    }
  });

  it("watch: a removed file is deleted only after a second settled read", async () => {
    writeFileSync(join(dir, "a.yaml"), job("a"));
    writeFileSync(join(dir, "b.yaml"), job("b"));
    const { source, seen } = await startSource({ settleMs: 400 });
    seen.length = 0;
    const t0 = performance.now();
    rmSync(join(dir, "b.yaml"));
    await pause(100);
    await source.idle();
    // The event has been read (b's file is gone from the index) but one read is not enough.
    expect(source.lookup(key("b")).state).toBe("present");
    expect(seen).toEqual([]);
    await until("b deleted", () => source.lookup(key("b")).state === "deleted");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(400);
    expect(seen).toEqual([key("b")]);
  });

  it("watch: a renamed file moves the resource and never deletes it", async () => {
    writeFileSync(join(dir, "a.yaml"), job("a"));
    const { source } = await startSource({ settleMs: 20 });
    const states = new Set<string>();
    const timer = setInterval(() => states.add(source.lookup(key("a")).state), 1);
    renameSync(join(dir, "a.yaml"), join(dir, "renamed.yaml"));
    await pause(200);
    clearInterval(timer);
    expect(states.has("deleted")).toBe(false);
    expect(source.lookup(key("a")).state).toBe("present");
  });
});

describe("DirectorySource: watching", () => {
  it("a file edit reaches changes() within milliseconds, with a bumped generation", async () => {
    writeFileSync(join(dir, "a.yaml"), job("a"));
    const { source, seen } = await startSource();
    seen.length = 0;
    const t0 = performance.now();
    writeFileSync(join(dir, "a.yaml"), job("a", "img:2"));
    await until("a emitted", () => seen.includes(key("a")), 2000);
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(500);
    expect(source.get(key("a"))?.metadata.generation).toBe(2);
  });

  it("a half-written file is invalid until its next event, then present", async () => {
    writeFileSync(join(dir, "a.yaml"), job("a"));
    const { source } = await startSource();
    writeFileSync(join(dir, "a.yaml"), job("a").slice(0, 60));
    await until("a invalid", () => source.lookup(key("a")).state === "invalid");
    writeFileSync(join(dir, "a.yaml"), job("a", "img:3"));
    await until("a present", () => source.lookup(key("a")).state === "present");
    expect(source.get(key("a"))?.metadata.generation).toBe(2);
  });

  it("new subdirectories are watched; touching a file without changing it emits nothing", async () => {
    writeFileSync(join(dir, "a.yaml"), job("a"));
    const { source, seen } = await startSource();
    mkdirSync(join(dir, "new", "deeper"), { recursive: true });
    writeFileSync(join(dir, "new", "deeper", "n.yaml"), job("n"));
    await until("n present", () => source.lookup(key("n")).state === "present");
    writeFileSync(join(dir, "new", "deeper", "m.yaml"), job("m"));
    await until("m present", () => source.lookup(key("m")).state === "present");
    seen.length = 0;
    writeFileSync(join(dir, "a.yaml"), job("a"));
    await pause(50);
    expect(seen).toEqual([]);
  });

  it("a directory that appears later is read; one removed while watched prunes nothing", async () => {
    rmSync(dir, { recursive: true });
    const { source } = await startSource({ settleMs: 20 });
    expect(source.settled()).toBe(false);
    mkdirSync(dir);
    writeFileSync(join(dir, "a.yaml"), job("a"));
    await until("a present", () => source.lookup(key("a")).state === "present");
    await until("settled", () => source.settled());
    rmSync(dir, { recursive: true });
    await until("unsettled", () => !source.settled());
    await pause(100);
    expect(source.lookup(key("a")).state).toBe("present");
    mkdirSync(dir);
    writeFileSync(join(dir, "a.yaml"), job("a", "img:2"));
    await until(
      "a updated",
      () => (source.get(key("a"))?.spec as { image?: string } | undefined)?.image === "img:2",
    );
  });

  it("follows a symbolic link swapped under it (git-sync), moving resources and pruning under the guards", async () => {
    rmSync(dir, { recursive: true });
    for (const [wt, files] of [
      ["wt-1", { "a.yaml": job("a"), "b.yaml": job("b") }],
      ["wt-2", { "a.yaml": job("a", "img:2"), "c.yaml": job("c") }],
    ] as const) {
      mkdirSync(join(root, wt));
      for (const [name, text] of Object.entries(files)) writeFileSync(join(root, wt, name), text);
    }
    symlinkSync(join(root, "wt-1"), dir);
    const { source } = await startSource({ settleMs: 50 });
    expect(source.dir).toBe(join(root, "wt-1"));
    const owner = source.defaultOwnerId;
    const states = new Set<string>();
    const timer = setInterval(() => states.add(source.lookup(key("a")).state), 1);
    symlinkSync(join(root, "wt-2"), join(root, "repo.tmp"));
    renameSync(join(root, "repo.tmp"), dir);
    await until("c present", () => source.lookup(key("c")).state === "present");
    await until("b deleted", () => source.lookup(key("b")).state === "deleted");
    clearInterval(timer);
    expect(states.has("deleted")).toBe(false);
    expect(source.dir).toBe(join(root, "wt-2"));
    expect(source.get(key("a"))?.metadata.generation).toBe(2);
    expect(source.defaultOwnerId).toBe(owner);
  });
});

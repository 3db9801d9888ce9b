import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ResourceKey, TrainingJob, TrainingJobStatus } from "../../src/api/resources.ts";
import {
  defaultStateDir,
  EventLog,
  Generations,
  mergeEvents,
  readEvents,
  readRecord,
  resolveStateDir,
  StateStore,
  type StatusRecordChange,
  specHash,
  statusPath,
  writeFileAtomic,
} from "../../src/sources/state/index.ts";
import { eventsPath } from "../../src/sources/state/paths.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mlops-state-test-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function job(name: string, image = "img:1", generation = 1): TrainingJob {
  return {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingJob",
    metadata: { name, namespace: "default", generation },
    spec: {
      image,
      replicas: 1,
      resources: { cpu: 100, memoryMB: 256, gpus: 0 },
      priority: 50,
      backoffLimit: 3,
      suspend: false,
    },
  };
}

function status(phase: NonNullable<TrainingJobStatus["phase"]>, at: string): TrainingJobStatus {
  return {
    phase,
    observedGeneration: 1,
    conditions: [
      { type: "Ready", status: "False", reason: "Scheduling", message: "waiting", lastTransitionTime: at },
    ],
  };
}

describe("state directory location", () => {
  it("defaults to <dir>/../.mlops-state/<basename>, from the real path", () => {
    expect(defaultStateDir(dir)).toBe(join(dir, "..", ".mlops-state", basename(dir)));
    expect(defaultStateDir(`${dir}/./`)).toBe(join(dir, "..", ".mlops-state", basename(dir)));
  });
  it("--state-dir beats MLOPS_STATE_DIR beats the default", () => {
    expect(resolveStateDir("/a", dir, { MLOPS_STATE_DIR: "/b" })).toBe("/a");
    expect(resolveStateDir(undefined, dir, { MLOPS_STATE_DIR: "/b" })).toBe("/b");
    expect(resolveStateDir(undefined, dir, {})).toBe(defaultStateDir(dir));
  });
});

describe("atomic writes", () => {
  it("replace the file whole and leave no temporary files", async () => {
    const path = join(dir, "a", "b", "x.json");
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        writeFileAtomic(path, JSON.stringify({ i, pad: "x".repeat(10_000) })),
      ),
    );
    const value = JSON.parse(readFileSync(path, "utf8")) as { i: number; pad: string };
    expect(value.pad).toHaveLength(10_000);
    expect(readdirSync(join(dir, "a", "b"))).toEqual(["x.json"]);
  });
});

describe("atomic writes that fail", () => {
  it("leave the old file intact and no temporary file behind", async () => {
    const path = join(dir, "x.json");
    await writeFileAtomic(path, "old");
    // A directory where the temporary file would be renamed to: rename fails, like a crash before it.
    const blocked = join(dir, "blocked");
    await writeFileAtomic(join(blocked, "inner"), "x");
    await expect(writeFileAtomic(blocked, "new")).rejects.toThrow();
    expect(readFileSync(path, "utf8")).toBe("old");
    expect(readdirSync(dir).sort()).toEqual(["blocked", "x.json"]);
  });
});

describe("generations", () => {
  it("start at 1, bump on spec hash change, and survive a restart", async () => {
    const now = new Date("2026-01-01T00:00:00Z");
    const g = new Generations(dir);
    expect(g.observe("TrainingJob/default/a", "h1", now).generation).toBe(1);
    expect(g.observe("TrainingJob/default/a", "h1", now).generation).toBe(1);
    expect(g.observe("TrainingJob/default/a", "h2", now).generation).toBe(2);
    await g.close();
    const again = new Generations(dir);
    expect(again.observe("TrainingJob/default/a", "h2", new Date()).generation).toBe(2);
    expect(again.get("TrainingJob/default/a")?.created).toBe(now.toISOString());
    expect(again.observe("TrainingJob/default/a", "h3", new Date()).generation).toBe(3);
  });

  it("a change is a journal line, not a rewrite of every entry; a restart reads both", async () => {
    const now = new Date("2026-01-01T00:00:00Z");
    const g = new Generations(dir);
    for (let i = 0; i < 10; i++) g.observe(`TrainingJob/default/j${i}` as ResourceKey, "h1", now);
    await g.flush();
    g.observe("TrainingJob/default/j7", "h2", now);
    g.delete("TrainingJob/default/j8");
    await g.flush();
    expect(readdirSync(dir)).not.toContain("generations.json"); // no snapshot written, ever
    const lines = readFileSync(join(dir, "generations.0.log"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(12);
    expect(lines.slice(-2)).toEqual([
      ["TrainingJob/default/j7", { generation: 2, specHash: "h2", created: now.toISOString() }],
      ["TrainingJob/default/j8", null],
    ]);
    await g.close();
    const again = new Generations(dir);
    expect(again.get("TrainingJob/default/j7")?.generation).toBe(2);
    expect(again.get("TrainingJob/default/j8")).toBeUndefined();
    expect(again.keys()).toHaveLength(9);
  });

  it("folds a journal longer than the snapshot into a new snapshot of the next epoch", async () => {
    const now = new Date("2026-01-01T00:00:00Z");
    const g = new Generations(dir);
    g.observe("TrainingJob/default/a", "h0", now);
    await g.flush();
    for (let round = 1; round <= 1_100; round++) {
      g.observe("TrainingJob/default/a", `h${round}`, now);
      await g.flush();
    }
    // 1,025 lines would pass 1,024: the 1,025th batch was a snapshot of epoch 1 and its journal gone.
    expect(JSON.parse(readFileSync(join(dir, "generations.json"), "utf8")).epoch).toBe(1);
    expect(readdirSync(dir).filter((n) => n.endsWith(".log"))).toEqual(["generations.1.log"]);
    expect(readFileSync(join(dir, "generations.1.log"), "utf8").trim().split("\n")).toHaveLength(
      1_100 - 1_024,
    );
    await g.close();
    expect(new Generations(dir).get("TrainingJob/default/a")).toMatchObject({
      generation: 1_101,
      specHash: "h1100",
    });
  });

  it("ignores a journal a crash left behind its snapshot, and a torn last line", async () => {
    const entry = (generation: number) => ({
      generation,
      specHash: `h${generation}`,
      created: "2026-01-01T00:00:00.000Z",
    });
    // The snapshot of epoch 3 holds generation 5; the journal of epoch 2 (older, its removal cut short) says 4.
    writeFileSync(
      join(dir, "generations.json"),
      `${JSON.stringify({ version: 1, epoch: 3, resources: { "TrainingJob/default/a": entry(5) } })}\n`,
    );
    writeFileSync(join(dir, "generations.2.log"), `${JSON.stringify(["TrainingJob/default/a", entry(4)])}\n`);
    writeFileSync(
      join(dir, "generations.3.log"),
      `${JSON.stringify(["TrainingJob/default/b", entry(2)])}\n["TrainingJob/default/a",{"generation":6,"spec`,
    );
    const g = new Generations(dir);
    expect(g.get("TrainingJob/default/a")?.generation).toBe(5);
    expect(g.get("TrainingJob/default/b")?.generation).toBe(2);
    expect(readdirSync(dir).filter((n) => n.endsWith(".log"))).toEqual(["generations.3.log"]);
    // Nothing is appended after a torn line: the next batch is a new snapshot.
    g.observe("TrainingJob/default/c", "h1", new Date());
    await g.close();
    expect(JSON.parse(readFileSync(join(dir, "generations.json"), "utf8")).epoch).toBe(4);
    const again = new Generations(dir);
    expect(again.keys().sort()).toEqual([
      "TrainingJob/default/a",
      "TrainingJob/default/b",
      "TrainingJob/default/c",
    ]);
    expect(again.get("TrainingJob/default/a")?.generation).toBe(5);
  });

  it("reads a snapshot of before the journal (format 2) as one with an empty journal", () => {
    writeFileSync(
      join(dir, "generations.json"),
      `${JSON.stringify({ version: 1, resources: { "TrainingJob/default/a": { generation: 3, specHash: "h", created: "x" } } })}\n`,
    );
    expect(new Generations(dir).get("TrainingJob/default/a")?.generation).toBe(3);
  });

  it("spec hash ignores key order", () => {
    expect(specHash({ a: 1, b: { c: [1, 2], d: "x" } })).toBe(specHash({ b: { d: "x", c: [1, 2] }, a: 1 }));
    expect(specHash({ a: 1 })).not.toBe(specHash({ a: 2 }));
  });
});

describe("status records", () => {
  it("are written only when the status changed, timestamps aside", async () => {
    const store = new StateStore(dir);
    const r = job("a");
    expect(await store.writeStatus(r, status("Pending", "2026-01-01T00:00:00Z"))).toBe(true);
    expect(await store.writeStatus(r, status("Pending", "2026-01-01T00:05:00Z"))).toBe(false);
    expect(await store.writeStatus(r, status("Running", "2026-01-01T00:05:00Z"))).toBe(true);
    expect(store.writes).toBe(2);
    // A restarted store compares with what is on disk (written behind, in batches: flush first).
    await store.flush();
    const restarted = new StateStore(dir);
    expect(await restarted.writeStatus(r, status("Running", "2026-02-01T00:00:00Z"))).toBe(false);
    const record = await readRecord(dir, "TrainingJob/default/a");
    expect(record).toMatchObject({
      kind: "TrainingJob",
      metadata: { name: "a", generation: 1 },
      spec: { image: "img:1" },
    });
    expect(record?.status.phase).toBe("Running");
    expect(record?.specHash).toBe(specHash(r.spec));
    await store.close();
  });

  it("are one line of JSON; an indented record of an older version reads the same and is not rewritten", async () => {
    const store = new StateStore(dir);
    const r = job("a");
    expect(await store.writeStatus(r, status("Running", "2026-01-01T00:00:00Z"))).toBe(true);
    await store.close();
    const path = statusPath(dir, "TrainingJob/default/a");
    const text = readFileSync(path, "utf8");
    expect(text.indexOf("\n")).toBe(text.length - 1);
    writeFileSync(path, `${JSON.stringify(JSON.parse(text), null, 2)}\n`);
    const restarted = new StateStore(dir);
    expect(await restarted.writeStatus(r, status("Running", "2026-02-01T00:00:00Z"))).toBe(false);
    expect((await readRecord(dir, "TrainingJob/default/a"))?.status.phase).toBe("Running");
    await restarted.close();
    expect(readFileSync(path, "utf8")).toContain('\n  "apiVersion"');
  });

  it("hold the resource's own metadata where it has nothing a record leaves out, else a copy of what it keeps", async () => {
    const store = new StateStore(dir);
    const key = "TrainingJob/default/a" as ResourceKey;
    const created = store.generations.observe(
      key,
      specHash(job("a").spec),
      new Date("2026-01-01T00:00:00Z"),
    ).created;
    const stamped = job("a");
    Object.assign(stamped.metadata, { labels: { team: "x" }, creationTimestamp: created });
    await store.writeStatus(stamped, status("Pending", "2026-01-01T00:00:00Z"));
    expect(store.recorded(key)?.metadata).toBe(stamped.metadata);
    // Members a record does not keep (a Kubernetes object's), or another creation time: a copy.
    const other = job("a");
    Object.assign(other.metadata, {
      uid: "u-1",
      resourceVersion: "7",
      creationTimestamp: "2025-01-01T00:00:00Z",
    });
    await store.writeStatus(other, status("Running", "2026-01-01T00:00:00Z"));
    const copy = store.recorded(key)?.metadata;
    expect(copy).not.toBe(other.metadata);
    expect(copy).toStrictEqual({
      name: "a",
      namespace: "default",
      generation: 1,
      creationTimestamp: created,
    });
    await store.flush();
    expect((await readRecord(dir, key))?.metadata).toStrictEqual(copy);
    await store.close();
  });

  it("are rewritten when the spec or generation changes, even with the same status", async () => {
    const store = new StateStore(dir);
    const s = status("Pending", "2026-01-01T00:00:00Z");
    expect(await store.writeStatus(job("a"), s)).toBe(true);
    expect(await store.writeStatus(job("a", "img:2", 2), s)).toBe(true);
    await store.flush();
    expect((await readRecord(dir, "TrainingJob/default/a"))?.metadata.generation).toBe(2);
  });

  it("forget drops status, events and generation", async () => {
    const store = new StateStore(dir);
    store.generations.observe("TrainingJob/default/a", "h", new Date());
    await store.writeStatus(job("a"), status("Pending", "2026-01-01T00:00:00Z"));
    const events = new EventLog(dir);
    events.event("TrainingJob/default/a", "Normal", "Submitted", "x");
    await events.close();
    await store.forget("TrainingJob/default/a");
    expect(await readRecord(dir, "TrainingJob/default/a")).toBeUndefined();
    expect(await readEvents(dir, "TrainingJob/default/a")).toEqual([]);
    expect(new Generations(dir).get("TrainingJob/default/a")).toBeUndefined();
  });

  it("never build a path from an unsafe name", async () => {
    const store = new StateStore(dir);
    const bad = job("x");
    bad.metadata.name = "../../escape";
    await expect(store.writeStatus(bad, status("Pending", "2026-01-01T00:00:00Z"))).rejects.toThrow(
      /refusing a state file/,
    );
    expect(readdirSync(join(dir, ".."))).not.toContain("escape.json");
    for (const [key, why] of [
      ["TrainingJob/default/a/b", /a key is kind\/namespace\/name/],
      ["TrainingJob/default", /a key is kind\/namespace\/name/],
      ["Nothing/default/a", /no kind is named "Nothing"/],
      ["TrainingJob/Team/a", /the namespace must be a DNS-1123 label/],
      ["TrainingJob/default/..", /the name must be a DNS-1123 label/],
    ] as const)
      expect(() => statusPath(dir, key as ResourceKey), key).toThrow(why);
  });

  it("lay files out as join would, for any spelling of the state directory", () => {
    for (const stateDir of [dir, `${dir}/`, `${dir}//x/..`, "relative/state", "", "/"]) {
      expect(statusPath(stateDir, "TrainingJob/team-a/a")).toBe(
        join(stateDir, "status/trainingjob/team-a/a.json"),
      );
      expect(eventsPath(stateDir, "TrainingQueue/b/q")).toBe(
        join(stateDir, "events/trainingqueue/b/q.jsonl"),
      );
    }
  });
});

describe("record changes", () => {
  it("report each record written (what lands on disk, without its spec) and each key forgotten, in order, until close", async () => {
    const store = new StateStore(dir);
    const changes: StatusRecordChange[] = [];
    let completed = false;
    store.recordChanges().subscribe({ next: (c) => changes.push(c), complete: () => (completed = true) });
    await store.writeStatus(job("a"), status("Pending", "2026-01-01T00:00:00Z"));
    await store.writeStatus(job("a"), status("Pending", "2026-01-01T00:05:00Z")); // unchanged: not written
    await store.writeStatus(job("a"), status("Running", "2026-01-01T00:05:00Z"));
    expect(changes.map((c) => [c.key, c.record?.status.phase])).toEqual([
      ["TrainingJob/default/a", "Pending"],
      ["TrainingJob/default/a", "Running"],
    ]);
    await store.flush();
    // What lands on disk is the record reported with its spec (redacted), which no record held carries.
    expect(changes[1]?.record?.spec).toBeUndefined();
    const onDisk = await readRecord(dir, "TrainingJob/default/a");
    expect(onDisk).toEqual(JSON.parse(JSON.stringify({ ...changes[1]?.record, spec: onDisk?.spec })));
    expect(onDisk?.spec).toMatchObject({ image: "img:1" });
    expect(store.writtenSpec("TrainingJob/default/a")).toEqual(onDisk?.spec);
    await store.forget("TrainingJob/default/a");
    expect(changes.at(-1)).toEqual({ key: "TrainingJob/default/a", record: undefined });
    await store.close();
    expect(completed).toBe(true);
  });

  it("report a record read from disk once, held while observed (recorded), a fingerprint without an observer", async () => {
    const writer = new StateStore(dir);
    await writer.writeStatus(job("a"), status("Running", "2026-01-01T00:00:00Z"));
    await writer.close();

    const unobserved = new StateStore(dir);
    expect(unobserved.readSync("TrainingJob/default/a")?.status.phase).toBe("Running");
    expect(unobserved.recorded("TrainingJob/default/a")).toBeUndefined();
    await unobserved.close();

    const store = new StateStore(dir);
    const changes: StatusRecordChange[] = [];
    store.recordChanges().subscribe({ next: (c) => changes.push(c) });
    const read = store.readSync("TrainingJob/default/a");
    store.readSync("TrainingJob/default/a");
    // Held and reported without its spec (the file has it); the reader gets the whole record.
    const held = store.recorded("TrainingJob/default/a");
    expect(changes).toEqual([{ key: "TrainingJob/default/a", record: held, read: true }]);
    expect(held).toEqual({ ...read, spec: undefined });
    expect(held?.status).toBe(read?.status);
    expect(read?.spec).toMatchObject({ image: "img:1" });
    // An unchanged status is compared with it and not written; the record on disk keeps its spec.
    expect(await store.writeStatus(job("a"), status("Running", "2026-01-01T00:00:00Z"))).toBe(false);
    expect(store.recorded("TrainingJob/default/a")).toBe(held);
    expect(store.writtenSpec("TrainingJob/default/a")).toMatchObject({ image: "img:1" });
    await store.close();
  });

  it("report nothing from a read-only store", async () => {
    const store = new StateStore(dir, { readOnly: true });
    const changes: StatusRecordChange[] = [];
    store.recordChanges().subscribe({ next: (c) => changes.push(c) });
    await store.writeStatus(job("a"), status("Pending", "2026-01-01T00:00:00Z"));
    await store.forget("TrainingJob/default/a");
    expect(changes).toEqual([]);
  });
});

describe("event log", () => {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
  it.each([
    {
      name: "repeated identical events fold into count and lastTimestamp",
      events: [
        ["Normal", "Submitted", "a", 1],
        ["Warning", "Failed", "b", 2],
        ["Normal", "Submitted", "a", 3],
      ],
      want: [
        {
          type: "Warning",
          reason: "Failed",
          message: "b",
          count: 1,
          firstTimestamp: at(2),
          lastTimestamp: at(2),
        },
        {
          type: "Normal",
          reason: "Submitted",
          message: "a",
          count: 2,
          firstTimestamp: at(1),
          lastTimestamp: at(3),
        },
      ],
    },
    {
      name: "bounded: the oldest fall off",
      events: [
        ["Normal", "A", "1", 1],
        ["Normal", "B", "2", 2],
        ["Normal", "C", "3", 3],
        ["Normal", "D", "4", 4],
      ],
      want: [
        { type: "Normal", reason: "C", message: "3", count: 1, firstTimestamp: at(3), lastTimestamp: at(3) },
        { type: "Normal", reason: "D", message: "4", count: 1, firstTimestamp: at(4), lastTimestamp: at(4) },
      ],
    },
  ] as const)("$name", ({ events, want }) => {
    const pending = events.map(([type, reason, message, s]) => ({ type, reason, message, at: at(s) }));
    expect(mergeEvents([], pending, 2)).toEqual(want);
  });

  it("the recorder batches writes and flushes on close", async () => {
    const log = new EventLog(dir, { flushMs: 10_000, limit: 3 });
    for (let i = 0; i < 5; i++) log.event("TrainingJob/default/a", "Normal", `R${i}`, "m");
    log.event("TrainingJob/default/a", "Normal", "R4", "m");
    expect(await readEvents(dir, "TrainingJob/default/a")).toEqual([]);
    await log.close();
    const events = await readEvents(dir, "TrainingJob/default/a");
    expect(events.map((e) => [e.reason, e.count])).toEqual([
      ["R2", 1],
      ["R3", 1],
      ["R4", 2],
    ]);
  });
});

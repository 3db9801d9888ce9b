import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeKey } from "../../src/api/resources.ts";
import { writeFilesAtomic } from "../../src/sources/state/batch.ts";
import { EventLog, readEvents } from "../../src/sources/state/events.ts";
import { closeIoWorker } from "../../src/sources/state/io-worker.ts";
import { removeLeftovers } from "../../src/sources/state/leftovers.ts";
import { eventsPath, statusPath } from "../../src/sources/state/paths.ts";
import { readRecord, readRecordSync } from "../../src/sources/state/record.ts";
import { replaceFiles } from "../../src/sources/state/replace-files.ts";
import { SpareInodes } from "../../src/sources/state/spare-inodes.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mlops-spares-"));
});
afterEach(async () => {
  await closeIoWorker();
  rmSync(dir, { recursive: true, force: true });
});

const ino = (path: string): number => statSync(path).ino;
const temps = (d: string): string[] => readdirSync(d).filter((f) => f.endsWith(".tmp"));
const write = async (pool: SpareInodes, files: [string, string][], durable = true): Promise<void> => {
  expect(await replaceFiles(files, durable, pool)).toEqual([]);
};

/** Each file written as "v1", then all replaced by "v2". */
const writeTwice = async (pool: SpareInodes, files: string[]): Promise<void> => {
  for (const version of ["v1", "v2"])
    await write(
      pool,
      files.map((p): [string, string] => [p, version]),
    );
};

describe("spare inodes: a replaced file's inode is the temporary file of a later write", () => {
  it("the third write of a file lands in the inode the second replaced, with exactly its bytes", async () => {
    const pool = new SpareInodes({ restMs: 0 });
    const p = join(dir, "a.json");
    await write(pool, [[p, "first version, the longest of the three\n"]]);
    const first = ino(p);
    await write(pool, [[p, "second\n"]]);
    expect(ino(p)).not.toBe(first);
    expect(pool.count).toBe(1); // the first inode, kept under a temporary name
    expect(temps(dir).map((f) => ino(join(dir, f)))).toEqual([first]);

    await write(pool, [[p, "third\n"]]);
    expect(ino(p)).toBe(first);
    expect(readFileSync(p, "utf8")).toBe("third\n"); // the longer old text is cut
    expect(pool.count).toBe(1); // now the second inode
    expect(temps(dir)).toHaveLength(1);
  });

  it("a spare of one directory serves a new file in another of the same file system", async () => {
    const pool = new SpareInodes({ restMs: 0 });
    const a = join(dir, "x", "a.json");
    const b = join(dir, "y", "b.json");
    await write(pool, [[a, "a1"]]);
    const firstA = ino(a);
    await write(pool, [[a, "a2"]]);
    await write(pool, [[b, "b1"]]);
    expect(ino(b)).toBe(firstA);
    expect(readFileSync(b, "utf8")).toBe("b1");
    expect(readFileSync(a, "utf8")).toBe("a2");
    expect(temps(join(dir, "x"))).toEqual([]);
  });

  it("a spare is not taken before it is added and has rested, then the oldest first", () => {
    const pool = new SpareInodes({ restMs: 500 });
    const device = statSync(dir).dev;
    for (const n of ["a", "b"]) writeFileSync(join(dir, n), n);
    expect(pool.keep(dir, join(dir, "a"), join(dir, ".a.1.1.tmp"))).toBe(true);
    expect(pool.keep(dir, join(dir, "b"), join(dir, ".b.1.2.tmp"))).toBe(true);
    expect(pool.take(device, 9_999)).toBeUndefined(); // kept, not added: its rename is not synced yet
    pool.add(device, join(dir, ".a.1.1.tmp"), 1_000);
    pool.add(device, join(dir, ".b.1.2.tmp"), 1_200);
    expect(pool.take(device, 1_499)).toBeUndefined();
    expect(pool.take(device + 1, 5_000)).toBeUndefined(); // another file system's writes
    expect(pool.take(device, 1_500)).toBe(join(dir, ".a.1.1.tmp"));
    expect(pool.take(device, 1_500)).toBeUndefined();
    expect(pool.take(device, 1_700)).toBe(join(dir, ".b.1.2.tmp"));
    expect(pool.count).toBe(0);
  });

  it("writes without syncs (event logs) keep and take spares too", async () => {
    const pool = new SpareInodes({ restMs: 0 });
    const p = join(dir, "a.jsonl");
    await write(pool, [[p, "1 the longest\n"]], false);
    const first = ino(p);
    await write(pool, [[p, "2\n"]], false);
    expect(pool.count).toBe(1);
    await write(pool, [[join(dir, "b.jsonl"), "b\n"]], false);
    expect(ino(join(dir, "b.jsonl"))).toBe(first);
    expect(readFileSync(join(dir, "b.jsonl"), "utf8")).toBe("b\n");
    expect(readFileSync(p, "utf8")).toBe("2\n");
  });

  it("keeps at most `max` spares: beyond that a replaced inode is freed, as without spares", async () => {
    const pool = new SpareInodes({ restMs: 60_000, max: 2 });
    const files = ["a", "b", "c", "d"].map((n) => join(dir, `${n}.json`));
    await writeTwice(pool, files);
    expect(pool.count).toBe(2);
    expect(temps(dir)).toHaveLength(2);
    for (const p of files) expect(readFileSync(p, "utf8")).toBe("v2");
  });

  it("a spare removed by hand, or its directory, is skipped: the write makes a new temporary file", async () => {
    const pool = new SpareInodes({ restMs: 0 });
    const a = join(dir, "x", "a.json");
    await write(pool, [[a, "a1"]]);
    await write(pool, [[a, "a2"]]);
    rmSync(join(dir, "x"), { recursive: true });
    const b = join(dir, "y", "b.json");
    await write(pool, [[b, "b1"]]);
    expect(readFileSync(b, "utf8")).toBe("b1");
    await write(pool, [[a, "a3"]]); // its directory made again
    expect(readFileSync(a, "utf8")).toBe("a3");
  });

  it("a directory whose files cannot be linked keeps no spares (the writes go on)", async () => {
    const pool = new SpareInodes({ restMs: 0 });
    const sub = join(dir, "sub");
    mkdirSync(sub);
    // A directory cannot be hard-linked (EPERM): the same refusal a file system without links gives.
    expect(pool.keep(dir, sub, join(dir, ".sub.1.1.tmp"))).toBe(false);
    writeFileSync(join(dir, "f.json"), "old");
    expect(pool.keep(dir, join(dir, "f.json"), join(dir, ".f.json.1.2.tmp"))).toBe(false);
    expect(pool.count).toBe(0);
    await write(pool, [[join(dir, "f.json"), "new"]]);
    expect(readFileSync(join(dir, "f.json"), "utf8")).toBe("new");
    expect(temps(dir)).toEqual([]);
  });

  it("spares are named as temporary files: a crash leaves none that the next start does not remove", async () => {
    const pool = new SpareInodes({ restMs: 60_000 });
    const files = ["a", "b"].map((n) => join(dir, "status", `${n}.json`));
    await writeTwice(pool, files);
    expect(temps(join(dir, "status"))).toHaveLength(2);
    const removed = await removeLeftovers(dir);
    expect(removed).toHaveLength(2);
    expect(readdirSync(join(dir, "status")).sort()).toEqual(["a.json", "b.json"]);
    for (const p of files) expect(readFileSync(p, "utf8")).toBe("v2");
  });

  it("the event log's compaction: a compacted log's replaced inode becomes another file's", async () => {
    // Appends keep a log's inode; a compaction replaces the log (compactAt(2): 16 KiB).
    const log = new EventLog(dir, { flushMs: 1, limit: 2 });
    const a = makeKey("TrainingJob", "team-a", "a");
    for (const m of ["1", "2"]) {
      log.event(a, "Normal", `R${m}`, m.repeat(7000));
      await log.flush();
    }
    const first = ino(eventsPath(dir, a));
    log.event(a, "Normal", "R3", "3".repeat(7000));
    await log.flush();
    expect(ino(eventsPath(dir, a))).not.toBe(first);
    expect((await readEvents(dir, a, 2)).map((e) => e.reason)).toEqual(["R2", "R3"]);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the spare's rest
    const b = statusPath(dir, makeKey("TrainingJob", "team-b", "b"));
    expect(await writeFilesAtomic([[b, "{}\n"]])).toEqual([]);
    expect(ino(b)).toBe(first);
    expect(readFileSync(b, "utf8")).toBe("{}\n");
    await log.close();
  });

  it("the state I/O worker keeps spares while it runs and removes them when closed", async () => {
    const p = join(dir, "s", "f.json");
    expect(await writeFilesAtomic([[p, "1"]])).toEqual([]);
    expect(await writeFilesAtomic([[p, "2"]])).toEqual([]);
    expect(temps(join(dir, "s"))).toHaveLength(1);
    await closeIoWorker();
    expect(temps(join(dir, "s"))).toEqual([]);
    expect(readFileSync(p, "utf8")).toBe("2");
  });
});

describe("reading a status record checks whose it is", () => {
  const record = (name: string) =>
    `${JSON.stringify({
      apiVersion: "mlops.dev/v1alpha1",
      kind: "TrainingJob",
      metadata: { name, namespace: "default", generation: 1 },
      spec: {},
      specHash: "h",
      status: { phase: "Running" },
      updated: "2026-12-05T00:00:00Z",
    })}\n`;

  it("another resource's record at a path (a stale reader of a reused inode) reads as no record", async () => {
    const key = makeKey("TrainingJob", "default", "mnist");
    const path = statusPath(dir, key);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, record("other"));
    expect(readRecordSync(dir, key)).toBeUndefined();
    expect(await readRecord(dir, key)).toBeUndefined();
    writeFileSync(path, record("mnist"));
    expect(readRecordSync(dir, key)?.metadata.name).toBe("mnist");
    expect((await readRecord(dir, key))?.status).toEqual({ phase: "Running" });
  });
});

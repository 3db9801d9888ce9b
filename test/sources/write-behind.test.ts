import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeFilesAtomic } from "../../src/sources/state/batch.ts";
import { WriteBehind } from "../../src/sources/state/write-behind.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mlops-write-behind-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const files = (d: string) => readdirSync(d).sort();

describe("writeFilesAtomic", () => {
  it("replaces many files, creating directories, leaving no temporary file", async () => {
    writeFileSync(join(dir, "old.json"), "old");
    const entries: [string, string][] = [
      [join(dir, "old.json"), "new"],
      ...Array.from({ length: 50 }, (_, i): [string, string] => [
        join(dir, "ns", `f${i}.json`),
        `{"i":${i}}`,
      ]),
    ];
    expect(await writeFilesAtomic(entries)).toEqual([]);
    expect(readFileSync(join(dir, "old.json"), "utf8")).toBe("new");
    expect(files(join(dir, "ns"))).toHaveLength(50);
    expect(readFileSync(join(dir, "ns", "f7.json"), "utf8")).toBe('{"i":7}');
    expect(files(join(dir, "ns")).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("reports the files it cannot write and writes the others", async () => {
    writeFileSync(join(dir, "plain"), "a file, not a directory");
    const bad = join(dir, "plain", "x.json");
    const failures = await writeFilesAtomic([
      [bad, "x"],
      [join(dir, "ok.json"), "ok"],
    ]);
    expect(failures.map((f) => f.path)).toEqual([bad]);
    expect(readFileSync(join(dir, "ok.json"), "utf8")).toBe("ok");
  });
});

describe("WriteBehind", () => {
  it("batches writes (the latest per path wins), shows pending content, flushes on close", async () => {
    const writer = new WriteBehind({ delayMs: 10_000 });
    const path = join(dir, "s", "a.json");
    writer.write(path, "1");
    writer.write(path, "2");
    writer.write(join(dir, "s", "b.json"), "b");
    expect(writer.pending(path)).toBe("2");
    expect(() => readFileSync(path)).toThrow(/ENOENT/);
    await writer.close();
    expect(readFileSync(path, "utf8")).toBe("2");
    expect(writer.pending(path)).toBeUndefined();
    expect(writer.written).toBe(2);
  });

  it("flushes by itself after the delay, and at once when the batch is full", async () => {
    const timed = new WriteBehind({ delayMs: 5 });
    timed.write(join(dir, "t.json"), "t");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(readFileSync(join(dir, "t.json"), "utf8")).toBe("t");
    const full = new WriteBehind({ delayMs: 60_000, maxPending: 3 });
    for (let i = 0; i < 3; i++) full.write(join(dir, `f${i}.json`), `${i}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(readFileSync(join(dir, "f2.json"), "utf8")).toBe("2");
    await full.close();
  });

  it("runs `before` ahead of each batch", async () => {
    const order: string[] = [];
    const writer = new WriteBehind({
      delayMs: 60_000,
      before: async () => {
        order.push(`before:${files(dir).length}`);
      },
    });
    writer.write(join(dir, "a.json"), "a");
    await writer.flush();
    order.push(`after:${files(dir).length}`);
    expect(order).toEqual(["before:0", "after:1"]);
  });

  it("writes at most maxPending files per batch, however many wait (a slow disk holds one batch)", async () => {
    const batches: number[] = [];
    const writer = new WriteBehind({
      delayMs: 60_000,
      maxPending: 4,
      before: async () => {
        batches.push(files(dir).length);
        // The disk is slow: the first batch is late, and every write below waits meanwhile.
        if (batches.length === 1) await new Promise((resolve) => setTimeout(resolve, 50));
      },
    });
    for (let i = 0; i < 10; i++) writer.write(join(dir, `f${i}.json`), `${i}`);
    await writer.flush();
    expect(files(dir)).toHaveLength(10);
    expect(batches).toEqual([0, 4, 8]);
    await writer.close();
  });

  it("cancel drops a pending write", async () => {
    const writer = new WriteBehind({ delayMs: 60_000 });
    writer.write(join(dir, "gone.json"), "x");
    await writer.cancel(join(dir, "gone.json"));
    await writer.close();
    expect(files(dir)).toEqual([]);
  });

  it("keeps failed files queued, reports them, and writes them once possible", async () => {
    const errors: string[] = [];
    const writer = new WriteBehind({ delayMs: 60_000, onError: (path) => errors.push(path) });
    writeFileSync(join(dir, "blocked"), "a file where a directory should be");
    const path = join(dir, "blocked", "a.json");
    writer.write(path, "a");
    await writer.flush();
    expect(errors).toEqual([path]);
    expect(writer.pending(path)).toBe("a");
    rmSync(join(dir, "blocked"));
    mkdirSync(join(dir, "blocked"));
    await writer.close();
    expect(readFileSync(path, "utf8")).toBe("a");
  });
});

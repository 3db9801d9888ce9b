// Opening the state directory for `run` (src/sources/state/open.ts): temporary files a killed
// writer left are removed under the lock; the format file is checked, an older layout (today's,
// from test/fixtures/state/v1) is upgraded in place with every file kept byte for byte, a newer
// format is refused naming the file, and a garbage format file is an error, never rewritten.
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  Generations,
  openStateDir,
  readEvents,
  readRecord,
  STATE_FORMAT,
  StateFormatError,
  StateLockedError,
} from "../../src/sources/state/index.ts";

const FIXTURE = new URL("../fixtures/state/v1/", import.meta.url).pathname;
const WRITER = new URL("../fixtures/state/bulk-writer.ts", import.meta.url).pathname;
let dir = "";

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mlops-open-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Every file under `root` (relative path → bytes). */
function files(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.isFile()) out.set(relative(root, path), readFileSync(path, "latin1"));
    }
  };
  walk(root);
  return out;
}

const isTemp = (path: string): boolean => path.endsWith(".tmp");

describe("opening the state directory", () => {
  it("upgrades today's layout (format 1) in place: every file kept byte for byte, temp files and the old pid lock gone", async () => {
    cpSync(FIXTURE, dir, { recursive: true });
    const before = files(dir);
    expect([...before.keys()].filter(isTemp)).toHaveLength(2);
    const opened = await openStateDir(dir);
    try {
      expect(opened.format).toEqual({ found: 1, written: true });
      expect(opened.leftovers.map((p) => relative(dir, p)).sort()).toEqual([
        "events/trainingjob/default/.mnist.jsonl.4242.1b.tmp",
        "status/trainingjob/default/.mnist.json.4242.1a.tmp",
      ]);
      const after = files(dir);
      for (const [path, bytes] of before) {
        if (isTemp(path) || path === "lock") continue;
        expect(after.get(path), path).toBe(bytes);
      }
      expect(JSON.parse(after.get("format.json") ?? "")).toEqual({ format: STATE_FORMAT });
      expect([...after.keys()].filter(isTemp)).toEqual([]);
      // What the operator reads from it is what the fixture holds.
      expect((await readRecord(dir, "TrainingJob/default/mnist"))?.status).toMatchObject({
        phase: "Running",
        run: { id: "g3-7f3a" },
      });
      expect(new Generations(dir, { readOnly: true }).get("TrainingJob/default/mnist")?.generation).toBe(3);
      expect((await readEvents(dir, "TrainingJob/default/mnist")).map((e) => e.reason)).toEqual([
        "Registered",
        "Started",
      ]);
    } finally {
      await opened.lock.release();
    }
    // A second open finds the current format and changes nothing.
    const again = await openStateDir(dir);
    expect(again.format).toEqual({ found: STATE_FORMAT, written: false });
    await again.lock.release();
  });

  it("stamps an empty directory with the current format", async () => {
    const opened = await openStateDir(join(dir, "new"));
    await opened.lock.release();
    expect(opened.format).toEqual({ found: STATE_FORMAT, written: true });
    expect(readFileSync(join(dir, "new", "format.json"), "utf8")).toBe(`{"format":${STATE_FORMAT}}\n`);
  });

  it.each([
    [
      "a newer format",
      `{"format":${STATE_FORMAT + 1}}\n`,
      "StateFormatTooNew",
      new RegExp(`format ${STATE_FORMAT + 1} is newer than this mlopsctl understands \\(${STATE_FORMAT}\\)`),
    ],
    [
      "a garbage format file",
      "\u0000garbage",
      "StateFormatUnreadable",
      /expected \{"format": <integer ≥ 1>\}/,
    ],
    ["an empty format file", "", "StateFormatUnreadable", /format\.json: expected/],
  ])(
    "refuses %s naming the file, changing nothing, and releases the lock",
    async (_name, content, reason, message) => {
      cpSync(FIXTURE, dir, { recursive: true });
      writeFileSync(join(dir, "format.json"), content);
      const before = files(dir);
      const error = await openStateDir(dir).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StateFormatError);
      expect((error as StateFormatError).reason).toBe(reason);
      expect((error as Error).message).toContain(join(dir, "format.json"));
      expect((error as Error).message).toMatch(message);
      const after = files(dir);
      for (const [path, bytes] of before) {
        if (isTemp(path) || path === "lock") continue;
        expect(after.get(path), path).toBe(bytes);
      }
      const reopened = await openStateDir(dir).catch((e: unknown) => e);
      expect(reopened).not.toBeInstanceOf(StateLockedError); // the failed open released the lock
    },
  );

  it("removes only temp files and stale locks, nowhere else", async () => {
    mkdirSync(join(dir, "status", "x"), { recursive: true });
    const keep = [
      "status/x/a.json",
      "status/x/.gitkeep",
      "status/x/a.tmp",
      "status/x/.a.json.tmp",
      "lock.stale",
    ];
    const drop = ["status/x/.a.json.123.1z.tmp", ".generations.json.99.deadbeef.tmp", "lock.stale.77.0"];
    for (const p of [...keep, ...drop]) writeFileSync(join(dir, p), "x");
    const opened = await openStateDir(dir);
    await opened.lock.release();
    expect(opened.leftovers.map((p) => relative(dir, p)).sort()).toEqual([...drop].sort());
    for (const p of keep) expect(readFileSync(join(dir, p), "utf8")).toBe("x");
  });

  it("a writer killed with SIGKILL in the middle of bulk writes: the next open removes every temp file it left", async () => {
    let leftBehind = 0;
    for (let kill = 0; kill < 5; kill++) {
      const child: ChildProcess = spawn(process.execPath, [WRITER, dir], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      await new Promise<void>((resolve) => child.stdout?.once("data", () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 5 + kill * 7));
      await new Promise((resolve) => {
        child.on("exit", resolve);
        child.kill("SIGKILL");
      });
      const temps = [...files(dir).keys()].filter(isTemp);
      leftBehind += temps.length;
      const opened = await openStateDir(dir);
      await opened.lock.release();
      expect(opened.leftovers.map((p) => relative(dir, p)).sort()).toEqual(
        temps
          .map((t) => t)
          .sort()
          .map((t) => t),
      );
      expect([...files(dir).keys()].filter(isTemp)).toEqual([]);
      for (const [path, bytes] of files(dir)) if (path.startsWith("status/")) JSON.parse(bytes);
    }
    expect(leftBehind).toBeGreaterThan(0);
  }, 30_000);

  it("a live holder keeps everything: nothing is removed or stamped while it holds the lock", async () => {
    cpSync(FIXTURE, dir, { recursive: true });
    const first = await openStateDir(join(dir, "other"));
    const holder = await openStateDir(dir);
    const before = files(dir);
    const error = await openStateDir(dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StateLockedError);
    expect(files(dir)).toEqual(before);
    await holder.lock.release();
    await first.lock.release();
  });
});

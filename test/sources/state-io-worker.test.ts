import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeFilesAtomic } from "../../src/sources/state/batch.ts";
import { EventLog, readEvents } from "../../src/sources/state/events.ts";
import {
  closeIoWorker,
  IDLE_EXIT_MS,
  ioWorkerRunning,
  ioWorkerStarts,
  StateWorkerExitedError,
  setInThreadFiles,
  setIoWorkerIdleExit,
  terminateIoWorker,
} from "../../src/sources/state/io-worker.ts";
import { removeLeftovers } from "../../src/sources/state/leftovers.ts";
import { WriteBehind } from "../../src/sources/state/write-behind.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const NODE = join(ROOT, "node_modules", ".bin", "node");
const USER = join(ROOT, "test", "fixtures", "state", "io-worker-user.ts");

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mlops-io-worker-"));
});
afterEach(async () => {
  setIoWorkerIdleExit(IDLE_EXIT_MS);
  setInThreadFiles(0);
  await closeIoWorker();
  rmSync(dir, { recursive: true, force: true });
});

const many = (n: number, sub = "s"): [string, string][] =>
  Array.from({ length: n }, (_, i): [string, string] => [join(dir, sub, `f${i}.json`), `{"i":${i}}\n`]);

describe("the state I/O worker", () => {
  it("reports each failed file with its path and the error's code, message and syscall", async () => {
    writeFileSync(join(dir, "plain"), "a file where directories should be");
    const notDir = join(dir, "plain", "sub", "x.json");
    const exists = join(dir, "plain", "y.json");
    const failures = await writeFilesAtomic([
      [notDir, "x"],
      [join(dir, "ok.json"), "ok"],
      [exists, "y"],
    ]);
    expect(failures.map((f) => f.path)).toEqual([notDir, exists]);
    const [first, second] = failures.map((f) => f.error as NodeJS.ErrnoException);
    expect(first).toBeInstanceOf(Error);
    expect(first).toMatchObject({ code: "ENOTDIR", syscall: "mkdir", path: join(dir, "plain", "sub") });
    expect(first?.message).toBe(`ENOTDIR: not a directory, mkdir '${join(dir, "plain", "sub")}'`);
    expect(typeof first?.errno).toBe("number");
    expect(second).toMatchObject({ code: "EEXIST", syscall: "mkdir", path: join(dir, "plain") });
    expect(readFileSync(join(dir, "ok.json"), "utf8")).toBe("ok");
  });

  it("an event log that cannot be written rejects its flush with the error's code", async () => {
    writeFileSync(join(dir, "events"), "a file where the events folder should be");
    const log = new EventLog(dir, { flushMs: 60_000 });
    log.event("TrainingJob/default/a", "Normal", "Started", "started");
    await expect(log.flush()).rejects.toMatchObject({ code: "ENOTDIR", syscall: "open" });
    await log.close();
  });

  it("the worker appends to event logs: repeats fold into count when read, other logs are left alone", async () => {
    const log = new EventLog(dir, { flushMs: 60_000, limit: 3 });
    log.event("TrainingJob/default/a", "Normal", "Started", "started");
    log.event("TrainingJob/default/b", "Warning", "Failed", "x");
    await log.flush();
    log.event("TrainingJob/default/a", "Normal", "Started", "started");
    for (const m of ["1", "2", "3"]) log.event("TrainingJob/default/b", "Normal", "Step", m);
    await log.close();
    expect(await readEvents(dir, "TrainingJob/default/a")).toMatchObject([{ reason: "Started", count: 2 }]);
    // b's log holds four lines (two batches); read with the recorder's bound, the newest three.
    expect((await readEvents(dir, "TrainingJob/default/b", 3)).map((e) => e.message)).toEqual([
      "1",
      "2",
      "3",
    ]);
  });

  it("a worker killed with a batch in flight: the batch reports every file failed, the next call starts a new worker", async () => {
    const files = many(2000);
    const inFlight = writeFilesAtomic(files);
    await terminateIoWorker();
    const failures = await inFlight;
    expect(failures.map((f) => f.path)).toEqual(files.map(([path]) => path));
    for (const f of failures) expect(f.error).toBeInstanceOf(StateWorkerExitedError);
    expect(failures[0]?.error).toMatchObject({ reason: "StateWorkerExited" });
    // Each file is old (absent) or new, as after a crash.
    for (const [path, data] of files) if (existsSync(path)) expect(readFileSync(path, "utf8")).toBe(data);

    const again = many(3, "t");
    expect(await writeFilesAtomic(again)).toEqual([]);
    for (const [path, data] of again) expect(readFileSync(path, "utf8")).toBe(data);
  });

  it("a worker killed in the middle of writing: each file old or new, its temporary files are leftovers", async () => {
    expect(await writeFilesAtomic(many(1, "warm"))).toEqual([]); // the worker is up
    const files = many(2000);
    mkdirSync(join(dir, "s"));
    for (const [path] of files.slice(0, 100)) writeFileSync(path, "old");
    const inFlight = writeFilesAtomic(files);
    while (!readdirSync(join(dir, "s")).some((f) => f.endsWith(".tmp"))) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    await terminateIoWorker();
    const failures = await inFlight;
    expect(failures).toHaveLength(2000);
    for (const f of failures) expect(f.error).toBeInstanceOf(StateWorkerExitedError);
    for (const [path, data] of files.slice(0, 100))
      expect(["old", data]).toContain(readFileSync(path, "utf8"));
    for (const [path, data] of files.slice(100))
      if (existsSync(path)) expect(readFileSync(path, "utf8")).toBe(data);
    const temps = readdirSync(join(dir, "s")).filter((f) => f.endsWith(".tmp"));
    expect(temps.length).toBeGreaterThan(0);
    const removed = await removeLeftovers(dir);
    expect(removed.map((p) => basename(p)).sort()).toEqual(temps.sort());
  });

  it("the write-behind retries the files of a batch the worker died with", async () => {
    const errors: unknown[] = [];
    const writer = new WriteBehind({ delayMs: 60_000, onError: (_path, error) => errors.push(error) });
    const files = many(500);
    for (const [path, data] of files) writer.write(path, data);
    const flushed = writer.flush();
    await new Promise((resolve) => setImmediate(resolve)); // the batch is posted after `before`
    await terminateIoWorker();
    await flushed;
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toBeInstanceOf(StateWorkerExitedError);
    await writer.close();
    for (const [path, data] of files) expect(readFileSync(path, "utf8")).toBe(data);
    expect(readdirSync(join(dir, "s")).filter((f) => !f.endsWith(".tmp"))).toHaveLength(500);
  });

  it("closing the event log, then a store with writes pending, uses one worker", async () => {
    const { StateStore } = await import("../../src/sources/state/store.ts");
    const { trainingJob } = await import("../trainingjob/builders.ts");
    await closeIoWorker();
    const before = ioWorkerStarts();
    const store = new StateStore(join(dir, "state"), { writeBehind: { delayMs: 60_000 } });
    const log = new EventLog(join(dir, "state"));
    const job = trainingJob({}, 1, "a");
    log.event("TrainingJob/default/a", "Normal", "Submitted", "submitted");
    await store.writeStatus(job, { phase: "Pending" } as never);
    await log.close();
    await store.close();
    expect(ioWorkerStarts() - before).toBe(1);
    expect(
      JSON.parse(readFileSync(join(dir, "state", "status", "trainingjob", "default", "a.json"), "utf8"))
        .status,
    ).toEqual({ phase: "Pending" });
  });

  it("closeIoWorker waits for the batches in flight, and a later batch starts a new worker", async () => {
    const files = many(300);
    const inFlight = writeFilesAtomic(files);
    await closeIoWorker();
    expect(await inFlight).toEqual([]);
    expect(await writeFilesAtomic(many(2, "t"))).toEqual([]);
    expect(readdirSync(join(dir, "t")).sort()).toEqual(["f0.json", "f1.json"]);
  });

  it("an idle worker ends by itself, its spare files removed; the next batch starts another", async () => {
    setIoWorkerIdleExit(300);
    const files = many(50);
    expect(await writeFilesAtomic(files)).toEqual([]);
    expect(await writeFilesAtomic(files)).toEqual([]); // the second write keeps the old inodes as spares
    const starts = ioWorkerStarts();
    expect(ioWorkerRunning()).toBe(true);
    await until(() => readdirSync(join(dir, "s")).some((f) => f.endsWith(".tmp")));
    await until(() => !ioWorkerRunning());
    expect(readdirSync(join(dir, "s")).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    for (const [path, data] of files) expect(readFileSync(path, "utf8")).toBe(data);

    expect(await writeFilesAtomic(many(2, "t"))).toEqual([]);
    expect(ioWorkerStarts()).toBe(starts + 1);
    expect(readdirSync(join(dir, "t")).sort()).toEqual(["f0.json", "f1.json"]);
  });

  it("a worker whose batches come more often than the idle time stays up", async () => {
    setIoWorkerIdleExit(400);
    expect(await writeFilesAtomic(many(1, "warm"))).toEqual([]);
    const starts = ioWorkerStarts();
    for (let i = 0; i < 8; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await writeFilesAtomic(many(3, `t${i}`))).toEqual([]);
    }
    expect(ioWorkerStarts()).toBe(starts);
    expect(ioWorkerRunning()).toBe(true);
  });

  it("a process that used it (and closed nothing) stays up while its batches are in flight, then exits by itself", async () => {
    const child = spawn(NODE, [USER, dir], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    const started = Date.now();
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      child.on("exit", (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    expect({ code, out, err }).toEqual({ code: 0, out: "failures 0\n", err: "" });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(readdirSync(join(dir, "status"))).toHaveLength(50);
    expect(await readEvents(dir, "TrainingJob/default/a")).toMatchObject([{ reason: "Started", count: 1 }]);
  });
});

/** Polls `done` every 10 ms, for at most 5 s. */
async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error("not within 5 s");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("a few files at a time, in the calling thread while no worker is up", () => {
  const temps = (sub: string) => readdirSync(join(dir, sub)).filter((f) => f.endsWith(".tmp"));

  it("writes them here, keeps no spare and starts no worker; a larger batch goes to the worker", async () => {
    await closeIoWorker();
    expect(setInThreadFiles(4)).toBe(0);
    const starts = ioWorkerStarts();
    const small = many(4, "here");
    expect(await writeFilesAtomic(small)).toEqual([]);
    expect(await writeFilesAtomic(small)).toEqual([]); // a worker would keep the old inodes as spares
    for (const [path, data] of small) expect(readFileSync(path, "utf8")).toBe(data);
    expect(temps("here")).toEqual([]);
    expect(ioWorkerRunning()).toBe(false);
    expect(ioWorkerStarts()).toBe(starts);

    const there = many(5, "there"); // one more than 4
    expect(await writeFilesAtomic(there)).toEqual([]);
    expect(await writeFilesAtomic(there)).toEqual([]);
    expect(ioWorkerRunning()).toBe(true);
    expect(ioWorkerStarts()).toBe(starts + 1);
    expect(temps("there").length).toBeGreaterThan(0); // the worker's spares: it wrote them
    // An idle worker: a few files are still written here, so a trickle lets it end.
    expect(await writeFilesAtomic(small)).toEqual([]);
    expect(temps("here")).toEqual([]);
    await closeIoWorker();
    expect(temps("there")).toEqual([]);
  });

  it("a few files go to the worker while it has a request in flight", async () => {
    setInThreadFiles(4);
    const big = writeFilesAtomic(many(400, "big"));
    const small = many(2, "small");
    expect(await writeFilesAtomic(small)).toEqual([]); // the first: a new file, no spare to keep
    expect(await big).toEqual([]);
    const again = writeFilesAtomic(many(400, "big"));
    expect(await writeFilesAtomic(small)).toEqual([]); // replaced in the worker: a spare kept
    expect(await again).toEqual([]);
    expect(temps("small").length).toBeGreaterThan(0);
  });

  it("reports a failed file with its error's code, and appends event logs here too", async () => {
    await closeIoWorker();
    setInThreadFiles(4);
    writeFileSync(join(dir, "plain"), "a file where directories should be");
    const notDir = join(dir, "plain", "sub", "x.json");
    const failures = await writeFilesAtomic([
      [notDir, "x"],
      [join(dir, "ok.json"), "ok"],
    ]);
    expect(failures.map((f) => f.path)).toEqual([notDir]);
    expect(failures[0]?.error).toMatchObject({ code: "ENOTDIR", syscall: "mkdir" });
    expect(readFileSync(join(dir, "ok.json"), "utf8")).toBe("ok");

    const log = new EventLog(dir);
    log.event("TrainingJob/default/a", "Normal", "Created", "run g1 on nomad");
    await log.flush();
    log.event("TrainingJob/default/a", "Normal", "Created", "run g1 on nomad");
    await log.close();
    const events = await readEvents(dir, "TrainingJob/default/a");
    expect(events.map((e) => [e.reason, e.count])).toEqual([["Created", 2]]);
    expect(ioWorkerRunning()).toBe(false);
  });

  it("with no limit (run --once), a batch of any size is written here and no worker starts", async () => {
    await closeIoWorker();
    setInThreadFiles(Number.POSITIVE_INFINITY);
    const starts = ioWorkerStarts();
    const files = many(400, "all");
    expect(await writeFilesAtomic(files)).toEqual([]);
    expect(await writeFilesAtomic(files)).toEqual([]);
    for (const [path, data] of files) expect(readFileSync(path, "utf8")).toBe(data);
    expect(temps("all")).toEqual([]);
    expect(ioWorkerRunning()).toBe(false);
    expect(ioWorkerStarts()).toBe(starts);
  });
});

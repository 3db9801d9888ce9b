// The state-directory lock (src/sources/state/lock.ts): a Unix socket the kernel releases when its
// holder dies. A live holder (in this process or another) makes acquisition fail naming it; a
// holder killed with SIGKILL, an empty or garbage file, a pid file of an older binary naming a pid
// that is alive again (reused, or PID 1 of a restarted container) are all taken over; racing
// takers produce exactly one holder.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acquireLock, StateLockedError } from "../../src/sources/state/index.ts";

const HOLDER = new URL("../fixtures/state/lock-holder.ts", import.meta.url).pathname;
let dir = "";
const children: ChildProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mlops-lock-"));
});
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a holder (optionally through a command prefix); resolves with its first output line. */
function holder(prefix: string[] = []): Promise<{ child: ChildProcess; line: string }> {
  const argv = [...prefix, process.execPath, HOLDER, dir];
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      out += chunk;
      const end = out.indexOf("\n");
      if (end !== -1) resolve({ child, line: out.slice(0, end) });
    });
    child.on("exit", (code) => {
      if (!out.includes("\n")) reject(new Error(`holder exited ${code} without a line: ${out}`));
    });
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.on("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

async function lockedError(): Promise<StateLockedError> {
  const error = await acquireLock(dir).then(
    (lock) => lock.release().then(() => undefined),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StateLockedError);
  return error as StateLockedError;
}

describe("state-directory lock", () => {
  it("a second attempt fails with StateLocked naming the holder; release frees it", async () => {
    const lock = await acquireLock(dir);
    const error = await lockedError();
    expect(error.reason).toBe("StateLocked");
    expect(error.message).toContain(`pid ${process.pid} on host ${hostname()}`);
    expect(error.holder).toMatchObject({ pid: process.pid, hostname: hostname() });
    await lock.release();
    await (await acquireLock(dir)).release();
  });

  it("a holder in another process is named; once it is killed with SIGKILL the lock is taken over", async () => {
    const { child, line } = await holder();
    expect(line).toBe(`held ${child.pid}`);
    expect((await lockedError()).message).toContain(`pid ${child.pid} on host`);
    await killed(child);
    const lock = await acquireLock(dir);
    expect(lock.holder.pid).toBe(process.pid);
    await lock.release();
  });

  it.each([
    ["an empty lock file", ""],
    ["a garbage lock file", "\u0000\u0001not json at all"],
    [
      "a pid file of an older binary naming this very pid (reused pid)",
      `{"pid":${process.pid},"hostname":"${hostname()}","started":"2026-01-01T00:00:00Z"}`,
    ],
    [
      "a pid file naming PID 1, alive on this host (a restarted container)",
      `{"pid":1,"hostname":"${hostname()}","started":"2026-01-01T00:00:00Z"}`,
    ],
    ["a pid file from another host", `{"pid":1,"hostname":"elsewhere","started":"2026-01-01T00:00:00Z"}`],
  ])("%s is taken over: nobody listens on it", async (_name, content) => {
    writeFileSync(join(dir, "lock"), content);
    const lock = await acquireLock(dir);
    expect(lock.holder.pid).toBe(process.pid);
    await lock.release();
  });

  it("a live holder that accepts but never answers still holds the lock", async () => {
    const mute = createServer(() => {});
    await new Promise<void>((resolve) => mute.listen(join(dir, "lock"), resolve));
    try {
      const error = await acquireLock(dir, { answerMs: 200 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StateLockedError);
      expect((error as Error).message).toContain("did not say who it is");
    } finally {
      await new Promise((resolve) => mute.close(resolve));
    }
  });

  it("eight processes taking over one stale lock at once: exactly one holds it (three rounds)", async () => {
    // Once under load two won: a socket bound but not yet listening refuses connections as a stale
    // one does, and was removed as one. The lock's file is now linked in place once it listens.
    for (let round = 0; round < 3; round++) {
      const { child } = await holder();
      await killed(child); // leaves a socket file nobody listens on
      const started = await Promise.all(Array.from({ length: 8 }, () => holder()));
      const lines = started.map((h) => h.line);
      expect(
        lines.filter((l) => l.startsWith("held")),
        `round ${round}`,
      ).toHaveLength(1);
      expect(
        lines.filter((l) => l.startsWith("locked")),
        `round ${round}`,
      ).toHaveLength(7);
      const running = started.filter((h) => h.child.exitCode === null && h.child.signalCode === null);
      await Promise.all(running.map((h) => killed(h.child)));
    }
  }, 60_000);

  it("leaves no name of its own beside the lock, held or refused", async () => {
    const lock = await acquireLock(dir);
    await lockedError();
    expect(readdirSync(dir).sort()).toEqual(["lock"]);
    await lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  const unshare = spawnSync("unshare", ["-Urpf", "--mount-proc", "true"]).status === 0;
  it.skipIf(!unshare)(
    "as PID 1 of a pid namespace (a container): killed, then a new PID 1 takes the lock over",
    async () => {
      const prefix = ["unshare", "-Urpf", "--mount-proc"];
      const first = await holder(prefix);
      expect(first.line).toBe("held 1");
      expect((await holder(prefix)).line).toMatch(/^locked .*pid 1 on host/);
      // SIGKILL the namespace's PID 1 itself (unshare's child), as a container runtime would.
      const unsharePid = first.child.pid as number;
      const pid1 = Number(
        readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, "utf8").trim().split(" ")[0],
      );
      expect(pid1).toBeGreaterThan(1);
      process.kill(pid1, "SIGKILL");
      await new Promise((resolve) => first.child.on("exit", resolve));
      const third = await holder(prefix);
      expect(third.line).toBe("held 1");
    },
    30_000,
  );
});

// The state directory's exclusive lock, held by `run`: a Unix socket bound at `<state-dir>/lock`.
// The kernel ties it to the holder's life: a live holder accepts connections (and answers with who
// it is), a dead one leaves a socket file that refuses them (ECONNREFUSED), which is removed and
// bound again. No pid is compared, so a restarted PID 1 in a container, a reused pid, an empty or
// garbage file left by an older binary (a regular file also refuses connections) never block a
// restart. The socket is bound and listening at a name of its own (`.lock.<pid>.<n>.tmp`) before
// link() puts it at `lock`, the atomic step: a socket bound but not yet listening refuses
// connections as a stale one does, so the lock's file must never be one. A stale file is removed
// only by the process that holds the takeover guard (`lock.takeover`, a directory mkdir creates
// atomically), after it found the file refusing connections: while the stale file is in place
// nobody can link, and nobody else may remove it, so two processes taking over at once never both
// win.
import { linkSync, lstatSync, mkdirSync, rmdirSync, rmSync, statSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { hostname } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { OperatorError } from "../../api/errors.ts";
import { lockPath } from "./paths.ts";

export interface LockHolder {
  pid: number;
  hostname: string;
  started: string;
}

export class StateLockedError extends OperatorError {
  readonly holder: LockHolder | undefined;
  constructor(stateDir: string, holder: LockHolder | undefined) {
    const who = holder
      ? `pid ${holder.pid} on host ${holder.hostname} (since ${holder.started})`
      : "a live process that did not say who it is";
    super(
      "StateLocked",
      `state directory ${stateDir} is locked by ${who}: another operator is running on it (its lock ${lockPath(stateDir)} accepts connections)`,
    );
    this.name = "StateLockedError";
    this.holder = holder;
  }
}

export class LockFailedError extends OperatorError {
  constructor(stateDir: string, message: string, cause?: unknown) {
    super("LockFailed", `state directory ${stateDir}: cannot take the lock: ${message}`, {
      ...(cause === undefined ? {} : { cause }),
    });
    this.name = "LockFailedError";
  }
}

export interface StateLock {
  readonly path: string;
  readonly holder: LockHolder;
  release(): Promise<void>;
}

export interface LockOptions {
  now?: Date;
  /** How long a holder that accepted a connection has to say who it is (default 2 s). */
  answerMs?: number;
}

/** Longest path a Unix socket can be bound at on Linux (sun_path is 108 bytes with the NUL). */
const SUN_PATH_MAX = 107;

export async function acquireLock(stateDir: string, options: LockOptions = {}): Promise<StateLock> {
  mkdirSync(stateDir, { recursive: true });
  const path = lockPath(stateDir);
  const address = socketAddress(stateDir, path);
  const me: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    started: (options.now ?? new Date()).toISOString(),
  };
  for (let attempt = 0; attempt < 20; attempt++) {
    const server = await bind(stateDir, path, me);
    if (server) {
      const ino = lstatSync(path).ino;
      let released = false;
      return {
        path,
        holder: me,
        async release() {
          if (released) return;
          released = true;
          await new Promise<void>((resolve) => server.close(() => resolve()));
          // Node unlinks the socket file on close; remove it only if it is still ours.
          if (lstatSync(path, { throwIfNoEntry: false })?.ino === ino) rmSync(path, { force: true });
        },
      };
    }
    const taken = await takeOver(path, address, options.answerMs ?? 2_000);
    if (taken.live) throw new StateLockedError(stateDir, taken.holder);
    if (taken.busy) await new Promise((resolve) => setTimeout(resolve, 20 + 20 * attempt));
  }
  throw new LockFailedError(stateDir, `${path} kept changing while it was being taken over`);
}

/** The address to bind: the absolute path, or a shorter relative one when it is over the limit. */
function socketAddress(stateDir: string, path: string): string {
  if (Buffer.byteLength(path) <= SUN_PATH_MAX) return path;
  const rel = relative(process.cwd(), path);
  if (Buffer.byteLength(rel) <= SUN_PATH_MAX) return rel;
  throw new LockFailedError(
    stateDir,
    `${path} is ${Buffer.byteLength(path)} bytes, longer than a Unix socket path may be (${SUN_PATH_MAX}); use a shorter --state-dir`,
  );
}

let temps = 0;

/** `.lock.<pid>.<n>.tmp` beside the lock (a name leftovers.ts removes after a crash). */
function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${temps}.tmp`);
}

/**
 * Listens at a name of its own, then links the socket at `path`: undefined when a file is there
 * (EEXIST), or the name was removed before the link (a holder's start-up clean-up: try again).
 */
async function bind(stateDir: string, path: string, me: LockHolder): Promise<Server | undefined> {
  const temp = tempPath(path);
  temps++;
  rmSync(temp, { force: true }); // a leftover of a process with this pid before
  const server = await listen(stateDir, socketAddress(stateDir, temp), me);
  try {
    linkSync(temp, path);
    return server;
  } catch (error) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST" || code === "ENOENT") return undefined;
    throw new LockFailedError(stateDir, `linking ${temp} to ${path}: ${(error as Error).message}`, error);
  } finally {
    rmSync(temp, { force: true }); // the socket lives on at `path` (or is closed)
  }
}

/** Listens at `address` (a name of this process's own). */
function listen(stateDir: string, address: string, me: LockHolder): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      socket.on("error", () => socket.destroy());
      socket.end(`${JSON.stringify(me)}\n`);
    });
    server.once("error", (error: NodeJS.ErrnoException) => {
      reject(new LockFailedError(stateDir, `binding ${address}: ${error.message}`, error));
    });
    server.listen(address, () => {
      server.unref();
      resolve(server);
    });
  });
}

interface Answer {
  live: boolean;
  holder?: LockHolder;
}

/** Connects to the lock: refused means no holder; accepted means a live one (and who, if it says). */
function ask(address: string, answerMs: number): Promise<Answer> {
  return new Promise((resolve) => {
    let text = "";
    let connected = false;
    const socket = connect(address);
    const done = (answer: Answer): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done({ live: true }), answerMs);
    socket.setEncoding("utf8");
    socket.on("connect", () => {
      connected = true;
    });
    socket.on("data", (chunk: string) => {
      text += chunk;
      if (text.length > 4096) done({ live: true });
    });
    socket.on("end", () => done(parseHolder(text)));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      // ECONNREFUSED: a socket nobody listens on, or not a socket at all (an old pid file).
      // ENOENT: removed meanwhile. Either way, nobody holds it now.
      if (!connected && (error.code === "ECONNREFUSED" || error.code === "ENOENT")) done({ live: false });
      else done({ live: true });
    });
  });
}

function parseHolder(text: string): Answer {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (typeof value.pid === "number" && typeof value.hostname === "string") {
      return {
        live: true,
        holder: { pid: value.pid, hostname: value.hostname, started: String(value.started ?? "") },
      };
    }
  } catch {
    // a holder that said something else is still a holder
  }
  return { live: true };
}

/** A takeover guard older than this was left by a process that died taking over: removed. */
const ABANDONED_GUARD_MS = 10_000;

/**
 * Under the takeover guard: a holder that answers is live (the caller reports it); a file that
 * refuses is removed, so the next bind can win. `busy`: another process is taking over.
 */
async function takeOver(
  path: string,
  address: string,
  answerMs: number,
): Promise<{ live: true; holder: LockHolder | undefined } | { live: false; busy: boolean }> {
  const guard = `${path}.takeover`;
  try {
    mkdirSync(guard);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const age = Date.now() - (statSync(guard, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if (age > ABANDONED_GUARD_MS) rmdirSync(guard, { maxRetries: 0 });
    return { live: false, busy: true };
  }
  try {
    if (!lstatSync(path, { throwIfNoEntry: false })) return { live: false, busy: false };
    const answer = await ask(address, answerMs);
    if (answer.live) return { live: true, holder: answer.holder };
    rmSync(path, { force: true });
    return { live: false, busy: false };
  } finally {
    rmdirSync(guard);
  }
}

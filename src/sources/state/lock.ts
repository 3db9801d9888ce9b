// The state directory's exclusive lock, held by `run`: a `lock` file created with O_EXCL holding the
// holder's pid, host and start time. A lock left by a dead process on this host is taken over;
// any other holder makes acquisition fail with StateLocked, naming the holder.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { hostname } from "node:os";
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
      : "an unknown holder (unreadable lock file)";
    super(
      "StateLocked",
      `state directory ${stateDir} is locked by ${who}; remove ${lockPath(stateDir)} only if that operator is gone`,
    );
    this.name = "StateLockedError";
    this.holder = holder;
  }
}

export interface StateLock {
  readonly path: string;
  readonly holder: LockHolder;
  release(): void;
}

export function acquireLock(stateDir: string, now: Date = new Date()): StateLock {
  mkdirSync(stateDir, { recursive: true });
  const path = lockPath(stateDir);
  const me: LockHolder = { pid: process.pid, hostname: hostname(), started: now.toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o644);
      try {
        writeSync(fd, `${JSON.stringify(me)}\n`);
      } finally {
        closeSync(fd);
      }
      let released = false;
      return {
        path,
        holder: me,
        release() {
          if (released) return;
          released = true;
          if (sameHolder(readHolder(path), me)) rmSync(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = readHolder(path);
    if (attempt === 0 && holder && isStale(holder)) {
      rmSync(path, { force: true });
      continue;
    }
    throw new StateLockedError(stateDir, holder);
  }
  throw new StateLockedError(stateDir, readHolder(path));
}

export function readHolder(path: string): LockHolder | undefined {
  try {
    const value = JSON.parse(readFileSync(path, "utf8")) as Partial<LockHolder>;
    if (typeof value.pid !== "number" || typeof value.hostname !== "string") return undefined;
    return { pid: value.pid, hostname: value.hostname, started: String(value.started ?? "") };
  } catch {
    return undefined;
  }
}

/** A holder on this host whose process no longer exists. A holder elsewhere is never presumed dead. */
export function isStale(holder: LockHolder): boolean {
  if (holder.hostname !== hostname()) return false;
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

function sameHolder(a: LockHolder | undefined, b: LockHolder): boolean {
  return a !== undefined && a.pid === b.pid && a.hostname === b.hostname && a.started === b.started;
}

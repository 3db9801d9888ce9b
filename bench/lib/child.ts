// Child processes of a benchmark: spawned on loopback work only, their output kept (bounded) and
// searchable, stopped by cleanup() (SIGTERM, then SIGKILL after a grace period) if still running.
import { type ChildProcess, spawn } from "node:child_process";
import { onCleanup } from "./cleanup.ts";

export interface Child {
  readonly pid: number;
  readonly process: ChildProcess;
  /** The last lines of stdout and stderr (at most 2,000 of each). */
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
  /** Resolves with the first line (stdout or stderr) matching `pattern`, rejects after `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** Calls `listener` with every later line of stdout and stderr. */
  onLine(listener: (line: string) => void): void;
  stop(graceMs?: number): Promise<void>;
}

const KEEP = 2000;

export function startChild(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; name?: string } = {},
): Child {
  const child = spawn(command, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: options.env ?? process.env,
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const waiters = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  const listeners: ((line: string) => void)[] = [];
  const collect = (stream: NodeJS.ReadableStream | null, into: string[]) => {
    let rest = "";
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) {
        into.push(line);
        if (into.length > KEEP) into.shift();
        for (const listener of listeners) listener(line);
        for (const waiter of waiters) {
          if (waiter.pattern.test(line)) {
            waiters.delete(waiter);
            waiter.resolve(line);
          }
        }
      }
    });
  };
  collect(child.stdout, stdout);
  collect(child.stderr, stderr);
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });
  const stop = async (graceMs = 3000) => {
    if (done) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  };
  const undo = onCleanup(() => stop());
  void exited.then(undo);
  const name = options.name ?? command;
  return {
    pid: child.pid,
    process: child,
    stdout,
    stderr,
    exited,
    stop,
    onLine(listener) {
      listeners.push(listener);
    },
    waitForLine(pattern, timeoutMs) {
      const seen = [...stdout, ...stderr].find((line) => pattern.test(line));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = {
          pattern,
          resolve: (line: string) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`${name}: no line matching ${pattern} within ${timeoutMs} ms; ${tail(stderr)}`));
        }, timeoutMs);
        waiters.add(waiter);
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited (${code}) before printing ${pattern}; ${tail(stderr)}`));
        });
      });
    },
  };
}

const tail = (lines: readonly string[]): string => `stderr: ${lines.slice(-5).join(" | ") || "(empty)"}`;

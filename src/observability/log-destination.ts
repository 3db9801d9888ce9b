// Where the JSON log goes: the lines of one event-loop turn, joined at the turn's end and handed to
// sonic-boom as one string (one asynchronous write on libuv's pool at a time, what comes meanwhile
// gathered; EPIPE stops logging). Handed over one by one, each of the thousands of lines a second a
// busy operator logs (a line per phase change) was appended to sonic-boom's pending chunk, whose
// length it measured again each time (flattening it), and most became a write of their own:
// `queue-nomad` admitted ~4 % more runs a second with a turn's lines joined (six alternated pairs,
// docs/benchmarks.md, Round 19). Not synchronous writes: a write to a pipe wakes its reader, which
// on a small machine takes the writer's core (the event loop stopped ~0.2 ms a write). Lines still waiting when the
// process exits (an error, process.exit) are written synchronously by an exit hook; the write in
// flight then is the pool's, as with sonic-boom alone (it may land after them; a SIGKILL loses it
// and the turn's lines). One per file descriptor (linesTo): every JSON logger of the process shares
// it, so their lines keep the order they were logged in and one exit hook serves them all.
import { writeSync } from "node:fs";
import { pino } from "pino";
import { realSetImmediate } from "../api/turns.ts";

/** What the joined lines are handed to (sonic-boom). */
export interface LineWriter {
  write(text: string): boolean;
  /** Writes what it holds synchronously (not a write already in flight). */
  flushSync(): void;
}

/**
 * sonic-boom writing `fd` asynchronously, in writes of at most 4 KiB (while a write is in flight it
 * measures its last pending chunk for each text handed to it, a turn's now, so a reader that falls
 * behind costs at most that much per turn). Its default, 16 KiB, left a watching operator at
 * 10,000 resources ~10 MB more resident once quiet (7 MB of it memory outside V8's heap).
 */
export function asyncWriter(fd: number): LineWriter {
  return pino.destination({ dest: fd, minLength: 0, maxWrite: 4_096 }) as LineWriter;
}

export class TurnBatchedLines {
  readonly #fd: number;
  readonly #out: LineWriter;
  #lines: string[] = [];
  #scheduled = false;
  readonly #onExit = () => this.flushSync();

  constructor(fd: number, out: LineWriter = asyncWriter(fd)) {
    this.#fd = fd;
    this.#out = out;
    process.once("exit", this.#onExit);
  }

  write(line: string): boolean {
    this.#lines.push(line);
    if (!this.#scheduled) {
      this.#scheduled = true;
      realSetImmediate(() => {
        this.#scheduled = false;
        this.#handOver();
      });
    }
    return true;
  }

  /** pino's `logger.flush(cb)`: the waiting lines are handed over now. */
  flush(callback?: (error?: Error) => void): void {
    this.#handOver();
    callback?.();
  }

  /**
   * Everything waiting written before this returns: the writer's held text, then this turn's lines
   * (directly: handed to the writer, they would start another asynchronous write).
   */
  flushSync(): void {
    const text = this.#take();
    try {
      this.#out.flushSync();
    } catch {
      // A destroyed or not yet opened writer: the lines below are still written.
    }
    if (text !== undefined) writeFully(this.#fd, text);
  }

  /** Writes what waits and drops the exit hook (a process that makes many, as tests do). */
  close(): void {
    this.flushSync();
    process.removeListener("exit", this.#onExit);
  }

  #handOver(): void {
    const text = this.#take();
    if (text !== undefined) this.#out.write(text);
  }

  #take(): string | undefined {
    if (this.#lines.length === 0) return undefined;
    const text = this.#lines.length === 1 ? (this.#lines[0] as string) : this.#lines.join("");
    this.#lines = [];
    return text;
  }
}

const shared = new Map<number, TurnBatchedLines>();

/** The process's one batcher of lines for `fd` (stderr: 2). */
export function linesTo(fd: number): TurnBatchedLines {
  let lines = shared.get(fd);
  if (lines === undefined) {
    lines = new TurnBatchedLines(fd);
    shared.set(fd, lines);
  }
  return lines;
}

/**
 * Writes all of `text`, retrying a full non-blocking pipe a bounded number of times (1 ms apart);
 * gives up on any other error (EPIPE: no reader left).
 */
function writeFully(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  let offset = 0;
  for (let busy = 0; offset < bytes.length && busy < 1_000; ) {
    try {
      offset += writeSync(fd, bytes, offset, bytes.length - offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") return;
      busy++;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

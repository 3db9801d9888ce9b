// The state I/O worker: one long-lived worker thread (io-worker-thread.ts) does the state
// directory's file writes (but a few files at a time, below), so the operator's main thread never
// blocks in them under load. On ext4 an open or a rename of a status file waits behind the journal
// commits that the data syncs of the same batch cause; on the main thread that was a fifth to a
// quarter of the operator's time at 3,000 queued runs (docs/benchmarks.md, "The state I/O worker").
// The main thread posts a batch (paths and strings: status records from writeFilesAtomic,
// batch.ts; pending events per log from the event log, which the worker appends to each log or
// compacts it with, append-logs.ts) and awaits the files that failed, each with its error rebuilt
// with its `code` (io-messages.ts).
// - The worker starts with the first batch. It holds the process open only while a batch is in
//   flight (ref), not when idle (unref), so a process that is done exits by itself.
// - closeIoWorker() waits for the batches in flight, then ends it; a later batch starts a new one.
// - A worker idle for IDLE_EXIT_MS ends the same way: its isolate is ~25 MB of a watching operator's
//   RSS at 10,000 resources (docs/benchmarks.md, round 11), and starting one again costs ~30 ms
//   of CPU off the main thread's path (a reconcile never waits for a status write). Its spare
//   inodes (spare-inodes.ts) go with it; a minute is as long as ext4 counts an inode freed then as
//   recently deleted (the cost the spares avoid), so bursts a minute apart keep them.
// - A request of at most `inThreadFiles` files (0 unless set: `mlopsctl run` sets 4, `run --once`
//   every request, MLOPS_STATE_INLINE_FILES) runs in the calling thread instead, without spare
//   inodes, unless the worker has a request in flight (under load the worker takes them all): an
//   operator whose writes come a few at a time (edits, runs starting and ending) lets its worker
//   end and keeps none, whose isolate is ~11 MB of RSS (100 jobs watching: 102 -> 91 MB once it
//   ended; docs/benchmarks.md, round 21). A larger request goes to the worker, started if need be.
//   A file's writes stay in order: the write-behind and the event log each wait for their request
//   before the next.
// - If it dies (an uncaught error, terminated), every batch in flight resolves with all its files
//   failed (StateWorkerExitedError; the write-behind retries them) and the next batch starts a new
//   worker. A file of such a batch is old or new on disk, as after a crash.
import { Worker } from "node:worker_threads";
import { OperatorError } from "../../api/errors.ts";
import { handleIoRequest } from "./io-handle.ts";
import { type EventLogUpdate, fromWire, type IoReply, type IoRequest } from "./io-messages.ts";
import { SpareInodes } from "./spare-inodes.ts";

export interface BatchFailure {
  readonly path: string;
  readonly error: unknown;
}

/**
 * The worker's body, next to this module: `.ts` in the sources (Node strips the types), `.js` in
 * the bundled dist/cli/, where rolldown.config.ts names it so beside every chunk.
 */
const BODY = new URL(
  import.meta.url.endsWith(".ts") ? "./io-worker-thread.ts" : "./io-worker-thread.js",
  import.meta.url,
);

export class StateWorkerExitedError extends OperatorError {
  constructor(code: number, cause: unknown) {
    const why = cause instanceof Error ? `: ${cause.message}` : "";
    super(
      "StateWorkerExited",
      `the state I/O worker exited (code ${code})${why} before this file's write was confirmed`,
      cause === undefined ? {} : { cause },
    );
    this.name = "StateWorkerExitedError";
  }
}

interface InFlight {
  readonly paths: readonly string[];
  readonly resolve: (failures: BatchFailure[]) => void;
}

interface Running {
  readonly worker: Worker;
  readonly inFlight: Map<number, InFlight>;
  readonly idle: (() => void)[];
  error?: unknown;
  /** Batches of files sent to the worker so far. */
  batches: number;
  /** The number of batches sent when the worker last removed its spare files. */
  released: number;
  /** Ends the worker once no batch has been in flight for IDLE_EXIT_MS (refreshed when one settles). */
  quiet?: NodeJS.Timeout;
}

/** How long the worker waits with no batch in flight before it ends (the next batch starts another). */
export const IDLE_EXIT_MS = 60_000;
let idleExitMs = IDLE_EXIT_MS;

/** Changes how long an idle worker waits before it ends (tests); returns the previous value. */
export function setIoWorkerIdleExit(ms: number): number {
  const previous = idleExitMs;
  idleExitMs = ms;
  return previous;
}

let running: Running | undefined;
let nextId = 0;
let starts = 0;
let background = false;
let inThreadFiles = 0;
/** The calling thread's writes keep no spare inodes: nothing would remove them while it runs. */
const noSpares = new SpareInodes({ max: 0 });

/**
 * Requests of at most `files` files run in the calling thread unless the worker has one in flight
 * (0: every request goes to the worker; Infinity: none does); returns the previous value.
 */
export function setInThreadFiles(files: number): number {
  const previous = inThreadFiles;
  inThreadFiles = Math.max(0, Math.floor(files));
  return previous;
}

/**
 * Whether workers started from now on run at a lower CPU priority than the operator's loop, and
 * lower libuv's pool too (background-priority.ts): `mlopsctl run` sets it for its own process; a
 * library user (a test) keeps its threads as they are.
 */
export function runIoWorkerInBackground(on: boolean): void {
  background = on;
}

/** Whether a worker is up (tests). */
export function ioWorkerRunning(): boolean {
  return running !== undefined;
}

/** Workers started so far in this process (tests, benchmarks). */
export function ioWorkerStarts(): number {
  return starts;
}

/** Replaces each `[path, data]` atomically (replace-files.ts); resolves with the failures. */
export function writeInWorker(
  files: readonly (readonly [string, string])[],
  durable: boolean,
): Promise<BatchFailure[]> {
  if (files.length === 0) return Promise.resolve([]);
  const paths = files.map(([path]) => path);
  return send((id) => ({ id, op: "write", files, durable }), paths);
}

/** Adds each update's events to its log (appended, or compacted past its size: append-logs.ts); resolves with the failures. */
export function appendEventLogsInWorker(
  logs: readonly EventLogUpdate[],
  limit: number,
): Promise<BatchFailure[]> {
  if (logs.length === 0) return Promise.resolve([]);
  const paths = logs.map((l) => l.path);
  return send((id) => ({ id, op: "events", logs, limit }), paths);
}

/**
 * Waits for the batches in flight, has the worker remove its spare files, then ends it (the next
 * batch starts another).
 */
export async function closeIoWorker(): Promise<void> {
  for (;;) {
    const state = running;
    if (!state) return;
    if (state.inFlight.size > 0) {
      await new Promise<void>((resolve) => state.idle.push(resolve));
      continue;
    }
    if (state.released !== state.batches) {
      const batches = state.batches;
      await send((id) => ({ id, op: "release" }), []);
      state.released = batches; // a batch sent meanwhile made spares: release again
      continue;
    }
    running = undefined;
    await state.worker.terminate();
    return;
  }
}

/** Ends the worker at once, as a crash would: the batches in flight fail. For tests. */
export async function terminateIoWorker(): Promise<void> {
  const state = running;
  if (!state) return;
  running = undefined;
  await state.worker.terminate();
}

function send(build: (id: number) => IoRequest, paths: readonly string[]): Promise<BatchFailure[]> {
  if (paths.length > 0 && paths.length <= inThreadFiles && !(running && running.inFlight.size > 0))
    return handleIoRequest(build(++nextId), noSpares);
  const state = running ?? start();
  const id = ++nextId;
  if (paths.length > 0) state.batches++;
  return new Promise((resolve) => {
    if (state.inFlight.size === 0) state.worker.ref();
    state.inFlight.set(id, { paths, resolve });
    try {
      state.worker.postMessage(build(id));
    } catch (error) {
      settle(state, id, (path) => ({ path, error }));
    }
  });
}

function start(): Running {
  starts++;
  const worker = new Worker(BODY, { name: "state-io", workerData: { background } });
  const state: Running = { worker, inFlight: new Map(), idle: [], batches: 0, released: 0 };
  worker.unref();
  worker.on("message", (reply: IoReply) => {
    const failures = reply.failures.map((f) => ({ path: f.path, error: fromWire(f.error) }));
    const entry = state.inFlight.get(reply.id);
    if (!entry) return;
    state.inFlight.delete(reply.id);
    entry.resolve(failures);
    afterSettle(state);
  });
  worker.on("error", (error) => {
    state.error = error;
  });
  worker.on("exit", (code) => {
    clearTimeout(state.quiet);
    if (running === state) running = undefined;
    const error = new StateWorkerExitedError(code, state.error);
    for (const id of [...state.inFlight.keys()]) settle(state, id, (path) => ({ path, error }));
  });
  running = state;
  return state;
}

function settle(state: Running, id: number, failure: (path: string) => BatchFailure): void {
  const entry = state.inFlight.get(id);
  if (!entry) return;
  state.inFlight.delete(id);
  entry.resolve(entry.paths.map(failure));
  afterSettle(state);
}

function afterSettle(state: Running): void {
  if (state.inFlight.size > 0) return;
  state.worker.unref();
  for (const resolve of state.idle.splice(0)) resolve();
  if (state.quiet) {
    state.quiet.refresh();
    return;
  }
  state.quiet = setTimeout(() => {
    // A batch sent since keeps it (its settling arms this timer again); closeIoWorker waits for
    // any batch that arrives while it releases the spares.
    if (running === state && state.inFlight.size === 0) void closeIoWorker();
  }, idleExitMs);
  state.quiet.unref();
}

// The body of the state I/O worker (started by io-worker.ts): answers each request with the files
// that could not be written. Requests run concurrently, as writeFilesAtomic calls did on the main
// thread; the event log never sends two requests for one file at once. Started `background`, it
// lowers its own priority at once and, after its requests, that of libuv's pool, which runs its data
// syncs (background-priority.ts), until it has found the pool's threads (or looked 100 times).
import { parentPort, workerData } from "node:worker_threads";
import { lowerThisThread, lowerThreadsNamed } from "./background-priority.ts";
import { handleIoRequest } from "./io-handle.ts";
import { type IoReply, type IoRequest, toWire } from "./io-messages.ts";

const port = parentPort;
if (!port) throw new Error("io-worker-thread.ts runs as a worker thread (io-worker.ts starts it)");

const background = (workerData as { background?: boolean } | undefined)?.background === true;
/**
 * How many more requests look for libuv's pool threads afterwards (the pool starts with the
 * process's first use of it; a libuv that names none: not forever). Lowering is idempotent, so once
 * found they are not looked at again.
 */
let poolLooks = background ? 100 : 0;
if (background) lowerThisThread();

port.on("message", (request: IoRequest) => {
  void handleIoRequest(request).then((failures) => {
    if (poolLooks > 0) poolLooks = lowerThreadsNamed("libuv-worker", new Set()) > 0 ? 0 : poolLooks - 1;
    const reply: IoReply = {
      id: request.id,
      failures: failures.map((f) => ({ path: f.path, error: toWire(f.error) })),
    };
    port.postMessage(reply);
  });
});

// One request of the state I/O protocol (io-messages.ts) done in the calling thread: by the worker's
// body (io-worker-thread.ts) for every request it gets, and by io-worker.ts for a batch of a few files
// while the worker is idle, there with a pool that keeps no spares (nothing would remove them).
import { appendLogs } from "./append-logs.ts";
import type { IoRequest } from "./io-messages.ts";
import { type FileFailure, replaceFiles, spares } from "./replace-files.ts";
import type { SpareInodes } from "./spare-inodes.ts";

/** Does `request` with `pool`'s spare inodes; resolves with the files (or logs) that failed. */
export async function handleIoRequest(
  request: IoRequest,
  pool: SpareInodes = spares,
): Promise<FileFailure[]> {
  if (request.op === "release") {
    pool.release();
    return [];
  }
  const paths =
    request.op === "write" ? request.files.map(([path]) => path) : request.logs.map((l) => l.path);
  try {
    if (request.op === "write") return await replaceFiles(request.files, request.durable, pool);
    return await appendLogs(request.logs, request.limit, pool);
  } catch (error) {
    // Not expected (replaceFiles reports per file): every file of the request failed with it.
    return paths.map((path) => ({ path, error }));
  }
}

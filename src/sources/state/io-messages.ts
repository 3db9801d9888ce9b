// The messages between the operator's main thread and the state I/O worker (io-worker.ts,
// io-worker-thread.ts), and errors carried across: structured cloning keeps an Error's name and
// message but drops `code`, `errno`, `syscall` and `path`, which callers and logs need (ENOSPC,
// EACCES), so errors travel as plain objects and are rebuilt on the other side.
import type { PendingEvent } from "./event-merge.ts";

/** A batch of files to replace atomically (replace-files.ts). */
export interface WriteRequest {
  readonly id: number;
  readonly op: "write";
  readonly files: readonly (readonly [string, string])[];
  readonly durable: boolean;
}

/** Event logs to append their pending events to, or to compact (append-logs.ts; no syncs but where spare-inodes.ts needs them). */
export interface EventsRequest {
  readonly id: number;
  readonly op: "events";
  readonly logs: readonly EventLogUpdate[];
  readonly limit: number;
}

export interface EventLogUpdate {
  readonly path: string;
  readonly events: readonly PendingEvent[];
}

/** Remove the worker's spare files (spare-inodes.ts): it is about to be ended. */
export interface ReleaseRequest {
  readonly id: number;
  readonly op: "release";
}

export type IoRequest = WriteRequest | EventsRequest | ReleaseRequest;

/** The answer to request `id`: the files (or directories) that could not be written. */
export interface IoReply {
  readonly id: number;
  readonly failures: readonly { readonly path: string; readonly error: WireError }[];
}

export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: string;
  readonly errno?: number;
  readonly syscall?: string;
  readonly path?: string;
  readonly dest?: string;
}

const STRING_KEYS = ["stack", "code", "syscall", "path", "dest"] as const;

export function toWire(error: unknown): WireError {
  if (!(error instanceof Error)) return { name: "Error", message: String(error) };
  const source = error as Error & Record<string, unknown>;
  const wire: Record<string, unknown> = { name: error.name, message: error.message };
  for (const key of STRING_KEYS) if (typeof source[key] === "string") wire[key] = source[key];
  if (typeof source.errno === "number") wire.errno = source.errno;
  return wire as unknown as WireError;
}

/** The error again, as Node's fs functions make them: an Error with its errno fields. */
export function fromWire(wire: WireError): Error {
  const error = new Error(wire.message) as Error & Record<string, unknown>;
  error.name = wire.name;
  for (const key of STRING_KEYS) if (wire[key] !== undefined) error[key] = wire[key];
  if (wire.errno !== undefined) error.errno = wire.errno;
  return error;
}

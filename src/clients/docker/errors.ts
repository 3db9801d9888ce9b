// Docker's failures as typed errors. dockerode rejects with `statusCode` and `json.message` for
// answers, and with a Node `code` (ECONNREFUSED, ENOENT, ...) when the engine cannot be reached.
// Each message names the object and the engine so a condition message says what and where.
import { OperatorError } from "../../api/errors.ts";

export type DockerReason =
  | "DockerUnavailable"
  | "ImageNotFound"
  | "NameConflict"
  | "NotFound"
  | "DockerRejected"
  | "DockerError";

export class DockerError extends OperatorError {
  /** The engine's HTTP status, when it answered. */
  readonly statusCode: number | undefined;
  constructor(reason: DockerReason, message: string, statusCode: number | undefined, cause?: unknown) {
    super(reason, message, cause === undefined ? {} : { cause });
    this.name = "DockerError";
    this.statusCode = statusCode;
  }
}

const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ENOENT",
  "EACCES",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "ENOTFOUND",
]);

interface RawDockerError {
  statusCode?: number;
  code?: string;
  message?: string;
  json?: { message?: string } | string | null;
}

/** The engine's own words for an error answer (its JSON `message`), else the error's message. */
export function engineMessage(error: unknown): string {
  const raw = (error ?? {}) as RawDockerError;
  if (raw.json && typeof raw.json === "object" && typeof raw.json.message === "string")
    return raw.json.message;
  if (typeof raw.json === "string" && raw.json !== "") return raw.json.trim();
  return raw.message ?? String(error);
}

export function statusOf(error: unknown): number | undefined {
  const code = (error as RawDockerError | undefined)?.statusCode;
  return typeof code === "number" ? code : undefined;
}

export function isUnreachable(error: unknown): boolean {
  const raw = (error ?? {}) as RawDockerError;
  if (raw.code && UNREACHABLE.has(raw.code)) return true;
  return statusOf(error) === undefined && /socket hang up|connect E|read E/i.test(raw.message ?? "");
}

/**
 * Maps a dockerode failure to a typed error. `what` names the operation and object, for example
 * `creating container mlops.default.mnist.0`; `target` names the engine.
 */
export function dockerError(error: unknown, what: string, target: string): OperatorError {
  if (error instanceof OperatorError) return error;
  const status = statusOf(error);
  const said = engineMessage(error);
  if (status === undefined) {
    if (isUnreachable(error) || (error as RawDockerError | undefined)?.code !== undefined) {
      return new DockerError(
        "DockerUnavailable",
        `Docker engine ${target} is unreachable while ${what}: ${said}`,
        undefined,
        error,
      );
    }
    return new DockerError(
      "DockerError",
      `${what} on Docker engine ${target} failed: ${said}`,
      undefined,
      error,
    );
  }
  if (status === 404 && /no such image|pull access denied|repository does not exist/i.test(said)) {
    return new DockerError(
      "ImageNotFound",
      `${what}: image not found on Docker engine ${target} (images are never pulled; build it locally): ${said}`,
      status,
      error,
    );
  }
  if (status === 404) return new DockerError("NotFound", `${what}: ${said}`, status, error);
  // A name taken: the daemon answers 409; a network name taken between the daemon's duplicate check
  // and libnetwork's own is 403 (libnetwork NetworkNameError is a Forbidden error).
  if (status === 409 || (status === 403 && /already exists/i.test(said))) {
    return new DockerError(
      "NameConflict",
      `${what}: name already in use on ${target}: ${said}`,
      status,
      error,
    );
  }
  if (status === 400)
    return new DockerError("DockerRejected", `${what}: rejected by ${target}: ${said}`, status, error);
  return new DockerError(
    "DockerError",
    `${what} on Docker engine ${target} failed (HTTP ${status}): ${said}`,
    status,
    error,
  );
}

export function isReason(error: unknown, reason: DockerReason): boolean {
  return error instanceof OperatorError && error.reason === reason;
}

// Nomad's errors, typed. Nomad answers plain text: the body is kept in the message (tokens never are:
// they travel in headers only). A check-and-set conflict is a 500 whose body starts "Enforcing job
// modify index"; an unknown namespace is named in the body ("nonexistent namespace").
import { OperatorError } from "../../api/errors.ts";
import { HttpError } from "../http.ts";

export const NomadReason = {
  Unavailable: "NomadUnavailable",
  Conflict: "NomadConflict",
  Forbidden: "Forbidden",
  NotFound: "NotFound",
  NamespaceNotFound: "NamespaceNotFound",
  Rejected: "NomadRejected",
  Error: "NomadError",
} as const;

export class NomadError extends OperatorError {
  readonly status: number | undefined;
  readonly body: string | undefined;
  constructor(reason: string, message: string, status?: number, body?: string, cause?: unknown) {
    super(reason, message, { cause });
    this.name = "NomadError";
    this.status = status;
    this.body = body;
  }
}

const CAS = /^Enforcing job modify index/;
const NAMESPACE = /nonexistent namespace|namespace .*not found|namespace not found/i;
const UNAVAILABLE = /no cluster leader|rpc error: EOF|No path to region|connection refused/i;

/** Maps any error from the HTTP layer (or a returned status) to a typed NomadError. */
export function toNomadError(error: unknown): NomadError {
  if (error instanceof NomadError) return error;
  if (error instanceof HttpError) return fromStatus(error.status, error.body, error.message, error);
  if (error instanceof OperatorError && error.reason === NomadReason.Unavailable) {
    return new NomadError(NomadReason.Unavailable, error.message, undefined, undefined, error);
  }
  return new NomadError(
    NomadReason.Unavailable,
    `Nomad request failed: ${error instanceof Error ? error.message : String(error)}`,
    undefined,
    undefined,
    error,
  );
}

export function fromStatus(status: number, body: string, message: string, cause?: unknown): NomadError {
  const text = body.trim();
  let reason: string = status >= 500 ? NomadReason.Error : NomadReason.Rejected;
  if (CAS.test(text)) reason = NomadReason.Conflict;
  else if (NAMESPACE.test(text)) reason = NomadReason.NamespaceNotFound;
  else if (status === 401 || status === 403) reason = NomadReason.Forbidden;
  else if (status === 404) reason = NomadReason.NotFound;
  else if (status === 502 || status === 503 || status === 504 || UNAVAILABLE.test(text)) {
    reason = NomadReason.Unavailable;
  }
  return new NomadError(reason, message, status, body, cause);
}

export function isNotFound(error: unknown): boolean {
  return error instanceof OperatorError && error.reason === NomadReason.NotFound;
}

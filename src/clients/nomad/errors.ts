// Nomad's errors, typed. Nomad answers plain text: the body is kept in the message (tokens never are:
// they travel in headers only). A check-and-set conflict is a 500 whose body says "Enforcing job
// modify index" (nomad/job_endpoint.go Register); when a client agent or a follower server forwards
// the request to the leader (nomad/rpc.go forwardLeader) the body reads "rpc error: Enforcing job
// modify index …" (helper/pool/pool.go), so it is matched anywhere in the body, as Nomad's CLI does
// (command/job_run.go). An unknown namespace is named in the body ("nonexistent namespace").
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

const CAS = /Enforcing job modify index/;
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
  return new NomadError(reasonForStatus(status, body), message, status, body, cause);
}

/** The reason fromStatus gives, without building the error (a 404 is often an expected answer). */
export function reasonForStatus(status: number, body: string): string {
  const text = body.trim();
  if (CAS.test(text)) return NomadReason.Conflict;
  if (NAMESPACE.test(text)) return NomadReason.NamespaceNotFound;
  if (status === 401 || status === 403) return NomadReason.Forbidden;
  if (status === 404) return NomadReason.NotFound;
  if (status === 502 || status === 503 || status === 504 || UNAVAILABLE.test(text)) {
    return NomadReason.Unavailable;
  }
  return status >= 500 ? NomadReason.Error : NomadReason.Rejected;
}

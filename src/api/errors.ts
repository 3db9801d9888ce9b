// Typed errors. The PascalCase `reason` becomes the condition reason, the event reason and the
// metric label; `message` is for people. The class decides what the controller does next, in one
// place (as Flux's runtime does):
//   transient → retried with per-key exponential backoff (a server that did not answer, a conflict)
//   waiting   → a dependency is not ready yet: requeued after a fixed delay; not an error
//   stalled   → needs a human (an invalid spec, an object another operator owns): reported, never retried

export type ErrorClass = "transient" | "waiting" | "stalled";

export interface ErrorOptions {
  cause?: unknown;
  /** Shorthand for `errorClass: "stalled"`. */
  terminal?: boolean;
  errorClass?: ErrorClass;
  /** `waiting` only: when to look again (default 5 s). */
  retryAfterMs?: number;
}

export const DEFAULT_WAIT_MS = 5_000;

export class OperatorError extends Error {
  readonly reason: string;
  readonly errorClass: ErrorClass;
  /** `waiting` errors: when to look again. */
  readonly retryAfterMs: number | undefined;

  constructor(reason: string, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "OperatorError";
    this.reason = reason;
    this.errorClass = options.errorClass ?? (options.terminal ? "stalled" : "transient");
    this.retryAfterMs =
      this.errorClass === "waiting" ? Math.max(0, options.retryAfterMs ?? DEFAULT_WAIT_MS) : undefined;
  }

  /** Stalled errors are reported and never retried. */
  get terminal(): boolean {
    return this.errorClass === "stalled";
  }
}

/** Retry with backoff: the world did not answer, or answered "try again". */
export class TransientError extends OperatorError {
  constructor(reason: string, message: string, options: Omit<ErrorOptions, "errorClass" | "terminal"> = {}) {
    super(reason, message, { ...options, errorClass: "transient" });
    this.name = "TransientError";
  }
}

/** A dependency is not ready: look again after `retryAfterMs`, without counting a failure. */
export class WaitingError extends OperatorError {
  constructor(
    reason: string,
    message: string,
    retryAfterMs = DEFAULT_WAIT_MS,
    options: { cause?: unknown } = {},
  ) {
    super(reason, message, { ...options, errorClass: "waiting", retryAfterMs });
    this.name = "WaitingError";
  }
}

/** Needs a human: reported, never retried until the resource changes. */
export class StalledError extends OperatorError {
  constructor(reason: string, message: string, options: { cause?: unknown } = {}) {
    super(reason, message, { ...options, errorClass: "stalled" });
    this.name = "StalledError";
  }
}

/** One problem in a resource, located by its path in the document (and, for files, line and column). */
export interface SpecIssue {
  /** JSON path inside the resource, such as ["spec", "resources", "gpus"]. */
  path: readonly (string | number)[];
  message: string;
}

export class InvalidSpecError extends OperatorError {
  readonly issues: readonly SpecIssue[];

  constructor(issues: readonly SpecIssue[], message = formatIssues(issues)) {
    super("InvalidSpec", message, { errorClass: "stalled" });
    this.name = "InvalidSpecError";
    this.issues = issues;
  }
}

export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const part of path) {
    out += typeof part === "number" ? `[${part}]` : out === "" ? part : `.${part}`;
  }
  return out === "" ? "(document)" : out;
}

export function formatIssues(issues: readonly SpecIssue[]): string {
  return issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`).join("; ");
}

/** Reason of any thrown value: typed errors keep theirs, anything else is `InternalError`. */
export function reasonOf(error: unknown): string {
  return error instanceof OperatorError ? error.reason : "InternalError";
}

export function isTerminal(error: unknown): boolean {
  return error instanceof OperatorError && error.terminal;
}

/** Class of any thrown value: typed errors keep theirs, anything else is transient. */
export function classOf(error: unknown): ErrorClass {
  return error instanceof OperatorError ? error.errorClass : "transient";
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

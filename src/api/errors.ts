// Typed errors. The PascalCase `reason` becomes the condition reason, the event reason and the
// metric label; `message` is for people; `terminal` errors are reported and never retried.

export interface ErrorOptions {
  cause?: unknown;
  terminal?: boolean;
}

export class OperatorError extends Error {
  readonly reason: string;
  readonly terminal: boolean;

  constructor(reason: string, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "OperatorError";
    this.reason = reason;
    this.terminal = options.terminal ?? false;
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
    super("InvalidSpec", message, { terminal: true });
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

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

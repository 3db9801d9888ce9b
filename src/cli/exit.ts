// One exit-code table for every mlopsctl command (README, "Exit codes").
export const EXIT = {
  /** Success; for plan --detailed-exitcode: no changes. */
  ok: 0,
  /** Invalid input, a failed reconcile, or a timeout. */
  failed: 1,
  /** plan --detailed-exitcode only: changes present (Terraform's meaning). */
  changes: 2,
  /** Usage error: unknown command or flag, missing argument. */
  usage: 64,
  /** Another operator holds the state directory's lock. */
  locked: 75,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Thrown by commands to end with a given code and a message on stderr. */
export class ExitError extends Error {
  readonly code: ExitCode;
  constructor(code: ExitCode, message: string) {
    super(message);
    this.name = "ExitError";
    this.code = code;
  }
}

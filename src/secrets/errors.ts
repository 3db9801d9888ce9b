// Errors of secret references. Messages name the reference (file path and key, or Secret name and
// key) and never a value: they become condition messages, events and log lines.
import { OperatorError } from "../api/errors.ts";

/** A referenced file, Secret or key does not exist (yet): retried with backoff. */
export class SecretNotFoundError extends OperatorError {
  constructor(message: string, cause?: unknown) {
    super("SecretNotFound", message, cause === undefined ? {} : { cause });
    this.name = "SecretNotFoundError";
  }
}

/** A referenced file exists but is not what the reference needs (not a flat map, a directory). */
export class SecretInvalidError extends OperatorError {
  constructor(message: string) {
    super("SecretInvalid", message);
    this.name = "SecretInvalidError";
  }
}

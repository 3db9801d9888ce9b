// Docker's answers mapped to the stack's condition reasons. The engine says what went wrong only in
// words, so the words are matched here, in one place (checked against Docker 20.10's messages).
import { messageOf, OperatorError, reasonOf } from "../api/errors.ts";
import type { Problem } from "./diff.ts";
import { stackReason } from "./reasons.ts";

export type StackReason =
  | "ImageNotFound"
  | "IPInUse"
  | "PortInUse"
  | "NameConflict"
  | "NetworkInUse"
  | "PrivilegedRefused";

export class StackError extends OperatorError {
  constructor(reason: StackReason, message: string, cause?: unknown) {
    super(reason, message, cause === undefined ? {} : { cause });
    this.name = "StackError";
  }
}

const PATTERNS: readonly [RegExp, StackReason][] = [
  [/port is already allocated|bind: address already in use|ports are not available/i, "PortInUse"],
  [
    /pool overlaps|address already in use|no available ipv4|invalid address|conflicts with network/i,
    "IPInUse",
  ],
  [/is already in use by container|network with name .* already exists|already exists/i, "NameConflict"],
  [/has active endpoints/i, "NetworkInUse"],
  [/no such image|pull access denied|repository does not exist/i, "ImageNotFound"],
  // runc on an engine whose own bounding set lacks capabilities (a restricted or nested dockerd).
  [/unable to apply caps/i, "PrivilegedRefused"],
];

const HINTS: Partial<Record<StackReason, string>> = {
  PrivilegedRefused:
    "this Docker engine refuses privileged containers: set spec.nomad.privileged to false (Nomad then runs with SYS_ADMIN and NET_ADMIN only; see docs/stack.md)",
};

/** The stack reason for a failed Docker call, or the error's own reason (DockerUnavailable, ...). */
export function problemOf(error: unknown): Problem {
  const message = messageOf(error);
  for (const [pattern, reason] of PATTERNS) {
    if (!pattern.test(message)) continue;
    const hint = HINTS[reason];
    return { reason, message: hint ? `${message}; ${hint}` : message };
  }
  return stackReason(reasonOf(error), message);
}

/** Failures that are about the world, not about the stack: retried with backoff by the queue. */
export function isTransient(error: unknown): boolean {
  const reason = reasonOf(error);
  return reason === "DockerUnavailable" || reason === "InternalError";
}

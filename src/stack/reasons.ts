// Every reason an MlopsStack's conditions and components can carry: the one union of the kind, with
// what each means. docs/stack.md carries the table rendered from it (a test keeps them identical).
export const STACK_REASONS = {
  Ready: "every component is running and healthy (Ready True)",
  Progressing: "components are being created or started (Reconciling True)",
  Waiting: "a component waits for the ones it depends on to become healthy",
  Unhealthy: "a component runs but its health check fails",
  Restarting: "a component keeps exiting",
  DependentsExist: "deletion waits for TrainingJobs that name this stack (Reconciling True)",
  InvalidSpec: "the document fails to parse or validate (Stalled True)",
  ImageNotFound: "a component's image is not on the Docker engine (images are never pulled for you)",
  IPInUse: "a fixed IP or the subnet is taken by another network or container",
  PortInUse: "a host port is taken on 127.0.0.1",
  NameConflict: "a network or container of that name exists and is not this operator's",
  NetworkInUse: "the network still has endpoints that are not this stack's",
  PrivilegedRefused: "the engine refuses privileged containers: set spec.nomad.privileged to false",
  DockerUnavailable: "the Docker engine does not answer (retried with backoff)",
  SecretNotFound: "the generated Grafana admin password file is missing",
  SecretEmpty: "the generated Grafana admin password file is empty (an interrupted write)",
  ReconcileError: "any other failure; the message starts with the error's own reason",
} as const;

export type StackConditionReason = keyof typeof STACK_REASONS;

export function isStackReason(value: string): value is StackConditionReason {
  return Object.hasOwn(STACK_REASONS, value);
}

/** A failure's reason as the kind's: a reason of the table, or ReconcileError keeping it in the message. */
export function stackReason(
  reason: string,
  message: string,
): { reason: StackConditionReason; message: string } {
  return isStackReason(reason)
    ? { reason, message }
    : { reason: "ReconcileError", message: `${reason}: ${message}` };
}

/** The table docs/stack.md carries verbatim. */
export function stackReasonTableMarkdown(): string {
  return [
    "| reason | meaning |",
    "| --- | --- |",
    ...Object.entries(STACK_REASONS).map(([reason, meaning]) => `| ${reason} | ${meaning} |`),
  ].join("\n");
}

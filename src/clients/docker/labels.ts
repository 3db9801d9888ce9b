// The labels that mark what the operator owns on a Docker engine. Every container, network and
// volume the operator creates carries `managed-by`, `owner-id` and `key`; the event stream and every
// list filter on them, and nothing without this operator's owner id is ever changed or removed.
import type { ResourceKey } from "../../api/resources.ts";

export const LABEL = {
  managedBy: "mlops.dev/managed-by",
  ownerId: "mlops.dev/owner-id",
  /** The resource key `Kind/namespace/name`: maps any event straight back to the workqueue. */
  key: "mlops.dev/key",
  generation: "mlops.dev/generation",
  runId: "mlops.dev/run-id",
  specHash: "mlops.dev/spec-hash",
  runSpecHash: "mlops.dev/run-spec-hash",
  /** The run's attempt (1, 2, …): a container of another attempt is replaced, never restarted. */
  attempt: "mlops.dev/attempt",
  replica: "mlops.dev/replica",
  replicas: "mlops.dev/replicas",
  backoffLimit: "mlops.dev/backoff-limit",
  metricsPort: "mlops.dev/metrics-port",
  metricsPath: "mlops.dev/metrics-path",
} as const;

export { MANAGED_BY } from "../../api/names.ts";

/** Docker's label filter syntax: `key` (present) or `key=value`. */
export function labelFilter(name: string, value?: string): string {
  return value === undefined ? name : `${name}=${value}`;
}

/** The resource key a labelled object belongs to, if it carries a well-formed one. */
export function keyFromLabels(labels: Readonly<Record<string, string>> | undefined): ResourceKey | undefined {
  const value = labels?.[LABEL.key];
  if (!value) return undefined;
  const parts = value.split("/");
  if (parts.length !== 3 || parts.some((p) => p === "")) return undefined;
  if (parts[0] !== "TrainingJob" && parts[0] !== "MlopsStack") return undefined;
  return value as ResourceKey;
}

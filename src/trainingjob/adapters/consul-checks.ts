// Pure: from Consul's checks of the operator's services to one health per resource. Services are
// tagged `mlops-operator` and carry the owning resource in their Meta (`mlops_namespace`,
// `mlops_name`), which Nomad copies from the job's service block; Nomad-registered instances also
// carry `external-source=nomad` and IDs `_nomad-task-<allocID>-<task>-<service>-<port>`.
import { checkLabel, MANAGED_BY } from "../../api/names.ts";
import { makeKey, type ResourceKey } from "../../api/resources.ts";
import type { HealthCheck } from "../../clients/consul/index.ts";
import type { CheckStatus, ServiceHealth } from "../ports.ts";

export const OPERATOR_SERVICE_TAG = MANAGED_BY;
export const META_NAMESPACE = "mlops_namespace";
export const META_NAME = "mlops_name";

/** `filter=` selecting the checks of the operator's services (node checks have no ServiceTags). */
export function operatorChecksFilter(tag = OPERATOR_SERVICE_TAG): string {
  return `${JSON.stringify(tag)} in ServiceTags`;
}

/** The TrainingJob owning a service, from its Meta; undefined when absent or not valid names. */
export function ownerFromMeta(
  meta: Readonly<Record<string, string>> | null | undefined,
): ResourceKey | undefined {
  const namespace = meta?.[META_NAMESPACE];
  const name = meta?.[META_NAME];
  if (namespace === undefined || name === undefined) return undefined;
  if (checkLabel(namespace) !== undefined || checkLabel(name) !== undefined) return undefined;
  return makeKey("TrainingJob", namespace, name);
}

const RANK: Record<CheckStatus, number> = { passing: 0, warning: 1, critical: 2, maintenance: 3 };

/** Consul's aggregate order: maintenance over critical over warning over passing. */
export function worse(a: CheckStatus, b: CheckStatus): CheckStatus {
  return (RANK[b] ?? RANK.critical) > (RANK[a] ?? RANK.critical) ? b : a;
}

/**
 * Health per resource: the worst status over its instances' checks, the number of instances, and
 * the output of the first check (by service ID, then check ID) in that worst status when not passing.
 */
export function aggregateHealth(
  checks: readonly HealthCheck[],
  ownerOf: (serviceId: string) => ResourceKey | undefined,
): Map<ResourceKey, ServiceHealth> {
  // One pass, no sort: per resource keep the worst status and, among checks in that status, the
  // first by (ServiceID, CheckID), so the answer does not depend on Consul's order.
  const acc = new Map<
    ResourceKey,
    { status: CheckStatus; instances: Set<string>; first: HealthCheck | undefined }
  >();
  for (const check of checks) {
    if (check.ServiceID === "") continue;
    const key = ownerOf(check.ServiceID);
    if (key === undefined) continue;
    const status: CheckStatus = check.Status in RANK ? check.Status : "critical";
    let entry = acc.get(key);
    if (!entry) {
      entry = { status: "passing", instances: new Set<string>(), first: undefined };
      acc.set(key, entry);
    }
    entry.instances.add(check.ServiceID);
    if (RANK[status] > RANK[entry.status]) {
      entry.status = status;
      entry.first = check;
    } else if (status === entry.status && status !== "passing" && entry.first && before(check, entry.first)) {
      entry.first = check;
    }
  }
  const out = new Map<ResourceKey, ServiceHealth>();
  for (const [key, entry] of acc) {
    out.set(key, {
      status: entry.status,
      instances: entry.instances.size,
      output: entry.first?.Output ?? "",
    });
  }
  return out;
}

function before(a: HealthCheck, b: HealthCheck): boolean {
  return a.ServiceID < b.ServiceID || (a.ServiceID === b.ServiceID && a.CheckID < b.CheckID);
}

/** Keys whose health appeared, disappeared or changed in status, instances or output. */
export function changedKeys(
  before: ReadonlyMap<ResourceKey, ServiceHealth>,
  after: ReadonlyMap<ResourceKey, ServiceHealth>,
): ResourceKey[] {
  const changed: ResourceKey[] = [];
  for (const [key, next] of after) {
    const prev = before.get(key);
    if (
      !prev ||
      prev.status !== next.status ||
      prev.instances !== next.instances ||
      prev.output !== next.output
    ) {
      changed.push(key);
    }
  }
  for (const key of before.keys()) if (!after.has(key)) changed.push(key);
  return changed;
}

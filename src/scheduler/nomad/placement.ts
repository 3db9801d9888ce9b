// Why Nomad cannot place a task group (pure): its FailedTGAllocs metric (structs.AllocMetric) and the
// job's own requests → a condition reason and a message that names what is missing and where to
// declare it. The filter names are Nomad's (scheduler/feasible.go): FilterConstraintDevices
// "missing devices" (no device group on the node matches a request with enough healthy instances;
// Nomad 1.9.6 bundles no device plugin, so nvidia/gpu needs the external NVIDIA plugin) and
// FilterConstraintHostVolumes "missing compatible host volumes" (a requested host volume is not
// declared in the client's configuration, or is read-only for a read-write request).

import type {
  NomadAllocationMetric,
  NomadJob,
  NomadPlanResponse,
  NomadTaskGroup,
} from "../../clients/nomad/types.ts";
import type { BlockedReason } from "../port.ts";
import { replicaCount } from "./meta.ts";

export const FILTER_DEVICES = "missing devices";
export const FILTER_HOST_VOLUMES = "missing compatible host volumes";

/** Where the target Nomad's clients are configured, for the message's "declare it in" part. */
export interface PlacementTarget {
  /** `namespace/name` of the MlopsStack whose Nomad this is; absent for a Nomad configured by address. */
  readonly stack?: string;
}

export interface PlacementProblem {
  readonly reason: BlockedReason;
  readonly message: string;
}

function devicesOf(group: NomadTaskGroup | undefined): string[] {
  const counts = new Map<string, number>();
  for (const task of group?.Tasks ?? [])
    for (const d of task.Resources.Devices ?? []) counts.set(d.Name, (counts.get(d.Name) ?? 0) + d.Count);
  return [...counts].map(([name, count]) => `${count} ${name}`);
}

function hostVolumesOf(group: NomadTaskGroup | undefined): string[] {
  return Object.values(group?.Volumes ?? {})
    .filter((v) => v.Type === "host")
    .map((v) => `"${v.Source}" (${v.ReadOnly ? "read-only" : "read-write"})`);
}

function deviceHint(target: PlacementTarget): string {
  return target.stack
    ? `enable spec.nomad.gpu of MlopsStack ${target.stack} (the nomad-device-nvidia plugin binary and the NVIDIA container runtime must be on the host)`
    : "a Nomad client offers nvidia/gpu only with the external NVIDIA device plugin (nomad-device-nvidia) installed and configured";
}

function volumeHint(target: PlacementTarget): string {
  return target.stack
    ? `declare them in spec.nomad.hostVolumes of MlopsStack ${target.stack} (a read-only host volume serves read-only mounts only)`
    : "declare them as client host_volume blocks in the Nomad agent configuration (a read-only host volume serves read-only mounts only)";
}

/** Nomad's FailedTGAllocs metric for one group of `job` → a condition reason and message. */
export function placementProblem(
  job: Pick<NomadJob, "TaskGroups">,
  groupName: string,
  metric: NomadAllocationMetric,
  target: PlacementTarget = {},
): PlacementProblem {
  const group = job.TaskGroups.find((g) => g.Name === groupName);
  const filtered = new Map(Object.entries(metric.ConstraintFiltered ?? {}));
  const exhausted = Object.entries(metric.DimensionExhausted ?? {});
  const evaluated = metric.NodesEvaluated;
  const parts: string[] = [];
  const devices = devicesOf(group);
  const missingDevices = filtered.get(FILTER_DEVICES);
  const missingVolumes = filtered.get(FILTER_HOST_VOLUMES);
  filtered.delete(FILTER_DEVICES);
  filtered.delete(FILTER_HOST_VOLUMES);
  if (missingDevices) {
    parts.push(
      `no node offers ${devices.join(" and ") || "the requested devices"} ("${FILTER_DEVICES}" on ${missingDevices} of ${evaluated} node(s)); ${deviceHint(target)}`,
    );
  }
  if (missingVolumes) {
    const volumes = hostVolumesOf(group);
    parts.push(
      `no node has host volume ${volumes.join(", ") || "as requested"} ("${FILTER_HOST_VOLUMES}" on ${missingVolumes} of ${evaluated} node(s)); ${volumeHint(target)}`,
    );
  }
  const devicesExhausted = exhausted.some(([k]) => /^devices/.test(k));
  if (devicesExhausted && devices.length > 0) parts.push(`no node has ${devices.join(" and ")} free`);
  if (evaluated === 0) parts.push("no node is eligible (datacenters, node pool or class)");
  for (const [k, n] of filtered) parts.push(`constraint "${k}" filtered ${n} node(s)`);
  for (const [k, n] of exhausted) parts.push(`${k} exhausted on ${n} node(s)`);
  const allocations = metric.CoalescedFailures > 0 ? ` (${metric.CoalescedFailures + 1} allocations)` : "";
  const reason =
    exhausted.length > 0
      ? "InsufficientResources"
      : missingDevices
        ? "MissingDevice"
        : missingVolumes
          ? "MissingHostVolume"
          : "Unschedulable";
  return {
    reason,
    message: `Nomad cannot place group "${groupName}"${allocations}: ${parts.join("; ") || "no feasible node"} (${evaluated} node(s) evaluated)`,
  };
}

/** What a plan of `job` says Nomad would do (`mlopsctl plan`): why it cannot place it, or what it places. */
export function planSummary(job: NomadJob, plan: NomadPlanResponse, stack: string | undefined): string {
  const failed = Object.entries(plan.FailedTGAllocs ?? {})[0];
  if (failed) {
    const problem = placementProblem(job, failed[0], failed[1], stack ? { stack } : {});
    return `${problem.reason}: ${problem.message}`;
  }
  const updates = plan.Annotations?.DesiredTGUpdates ?? {};
  const count = replicaCount(job);
  const sum = (field: string) => Object.values(updates).reduce((n, u) => n + (u?.[field] ?? 0), 0);
  if (plan.Diff?.Type === "None")
    return `no change: Nomad would place nothing (${count} allocation(s) unchanged)`;
  const place = sum("Place") + sum("DestructiveUpdate");
  const parts = [`placed ${place} of ${count}`];
  if (sum("DestructiveUpdate") > 0) parts.push(`${sum("DestructiveUpdate")} replaced`);
  if (sum("InPlaceUpdate") > 0) parts.push(`${sum("InPlaceUpdate")} updated in place`);
  if (sum("Stop") > 0) parts.push(`${sum("Stop")} stopped`);
  return parts.join(", ");
}

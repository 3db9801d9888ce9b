// Server: Nomad 1.9.6 (and 2.0.3 where noted), hashicorp/nomad. Follows: scheduler/feasible.go,
// scheduler/stack.go, scheduler/rank.go, nomad/structs/structs.go (AllocMetric).
// The double's scheduler, as far as placement goes, after Nomad v1.9.6 scheduler/feasible.go and
// scheduler/stack.go. Each node has what its agent configuration gives it: the host volumes declared
// in `client { host_volume "name" { path, read_only } }` and the device groups a device plugin
// fingerprints (Nomad 1.9.6 bundles none: helper/pluginutils/catalog/register.go registers drivers
// only, so a node without the external NVIDIA plugin has no devices at all). A task group is checked
// per node in the order of the generic stack: DeviceChecker (task group checkers) before
// HostVolumeChecker (availability checkers); the first that fails filters the node under its name,
// FilterConstraintDevices "missing devices" or FilterConstraintHostVolumes "missing compatible host
// volumes" (AllocMetric.ConstraintFiltered). A feasible node whose device instances are all taken by
// live allocations is exhausted: DimensionExhausted "devices: no devices match request"
// (scheduler/rank.go). Placement of a group is all or nothing here. Node built-ins only.
import type { NomadAllocationMetric, NomadJob, NomadTaskGroup } from "../../../src/clients/nomad/types.ts";

export const FILTER_DEVICES = "missing devices";
export const FILTER_HOST_VOLUMES = "missing compatible host volumes";
export const EXHAUSTED_DEVICES = "devices: no devices match request";

/** A device group a plugin fingerprints on a node (structs.NodeDeviceResource). */
export interface DoubleDevice {
  readonly vendor: string;
  readonly type: string;
  readonly name: string;
  /** Healthy instances. */
  readonly instances: number;
}

export interface DoubleNode {
  readonly id: string;
  readonly name: string;
  /** Declared host volumes by name (structs.ClientHostVolumeConfig). */
  readonly hostVolumes: Readonly<Record<string, { readonly path: string; readonly readOnly: boolean }>>;
  readonly devices: readonly DoubleDevice[];
}

export function doubleNode(index: number, over: Partial<Omit<DoubleNode, "id">> = {}): DoubleNode {
  return {
    id: `f3c2a5b4-0000-4000-8000-${String(index).padStart(12, "0")}`,
    name: `double-node-${index}`,
    hostVolumes: {},
    devices: [],
    ...over,
  };
}

/** A node whose NVIDIA plugin fingerprints `count` GPUs (vendor nvidia, type gpu). */
export function gpuNode(
  index: number,
  count: number,
  over: Partial<Omit<DoubleNode, "id">> = {},
): DoubleNode {
  return doubleNode(index, {
    devices: [{ vendor: "nvidia", type: "gpu", name: "Tesla T4", instances: count }],
    ...over,
  });
}

interface DeviceRequest {
  readonly name: string;
  readonly count: number;
}

/** `nvidia/gpu/Tesla T4`, `nvidia/gpu` or `gpu` matches a device group (structs.DeviceIdTuple.Matches). */
export function deviceMatches(request: string, device: DoubleDevice): boolean {
  const parts = request.split("/");
  if (parts.length === 1) return parts[0] === device.type;
  if (parts.length === 2) return parts[0] === device.vendor && parts[1] === device.type;
  return parts[0] === device.vendor && parts[1] === device.type && parts.slice(2).join("/") === device.name;
}

export function deviceRequests(group: NomadTaskGroup): DeviceRequest[] {
  return group.Tasks.flatMap((t) =>
    (t.Resources.Devices ?? []).map((d) => ({ name: d.Name, count: d.Count })),
  );
}

/** DeviceChecker.hasDevices: every request matched by a device group with enough healthy instances. */
function hasDevices(node: DoubleNode, requests: readonly DeviceRequest[]): boolean {
  if (requests.length === 0) return true;
  const available = new Map(node.devices.map((d) => [d, d.instances]));
  outer: for (const request of requests) {
    for (const [device, unused] of available) {
      if (unused < request.count || !deviceMatches(request.name, device)) continue;
      available.set(device, unused - request.count);
      continue outer;
    }
    return false;
  }
  return true;
}

/** HostVolumeChecker.hasVolumes: each host volume declared; a read-only one only for read-only requests. */
function hasVolumes(node: DoubleNode, group: NomadTaskGroup): boolean {
  for (const request of Object.values(group.Volumes ?? {})) {
    if (request.Type !== "host") continue;
    const declared = node.hostVolumes[request.Source];
    if (!declared || (declared.readOnly && !request.ReadOnly)) return false;
  }
  return true;
}

/** Why the node cannot run the group at all (its ConstraintFiltered key), or undefined. */
export function filteredBy(node: DoubleNode, group: NomadTaskGroup): string | undefined {
  if (!hasDevices(node, deviceRequests(group))) return FILTER_DEVICES;
  if (!hasVolumes(node, group)) return FILTER_HOST_VOLUMES;
  return undefined;
}

/** How many allocations of the group fit on a node, given the device instances already in use there. */
function slots(
  node: DoubleNode,
  requests: readonly DeviceRequest[],
  used: ReadonlyMap<string, number>,
): number {
  if (requests.length === 0) return Number.POSITIVE_INFINITY;
  let fit = Number.POSITIVE_INFINITY;
  for (const request of requests) {
    const free = node.devices
      .filter((d) => deviceMatches(request.name, d))
      .reduce((n, d) => n + d.instances - (used.get(`${node.id}/${d.vendor}/${d.type}/${d.name}`) ?? 0), 0);
    fit = Math.min(fit, Math.floor(Math.max(0, free) / request.count));
  }
  return fit;
}

export interface GroupPlacement {
  /** Node of each allocation index, when the whole group fits. */
  readonly nodes?: readonly DoubleNode[];
  readonly failure?: NomadAllocationMetric;
}

/**
 * Places a group's `Count` allocations on the nodes (all or nothing). `used` counts device instances
 * held by other jobs' live allocations, keyed `nodeId/vendor/type/name`.
 */
export function placeGroup(
  group: NomadTaskGroup,
  nodes: readonly DoubleNode[],
  used: ReadonlyMap<string, number>,
): GroupPlacement {
  const filtered: Record<string, number> = {};
  const feasible: DoubleNode[] = [];
  for (const node of nodes) {
    const why = filteredBy(node, group);
    if (why) filtered[why] = (filtered[why] ?? 0) + 1;
    else feasible.push(node);
  }
  const requests = deviceRequests(group);
  const chosen: DoubleNode[] = [];
  for (const node of feasible) {
    const fit = slots(node, requests, used);
    for (let i = 0; i < fit && chosen.length < group.Count; i++) chosen.push(node);
    if (chosen.length >= group.Count) break;
  }
  if (chosen.length >= group.Count) return { nodes: chosen };
  const exhausted = feasible.length;
  return {
    failure: {
      NodesEvaluated: nodes.length,
      NodesFiltered: nodes.length - feasible.length,
      NodesExhausted: exhausted,
      ClassFiltered: null,
      ClassExhausted: null,
      ConstraintFiltered: Object.keys(filtered).length > 0 ? filtered : null,
      DimensionExhausted: exhausted > 0 ? { [EXHAUSTED_DEVICES]: exhausted } : null,
      CoalescedFailures: Math.max(0, group.Count - 1),
    },
  };
}

/** The device instances one allocation of the group holds, keyed like `used`, on its node. */
export function devicesHeld(group: NomadTaskGroup, node: DoubleNode): Map<string, number> {
  const held = new Map<string, number>();
  for (const request of deviceRequests(group)) {
    const device = node.devices.find((d) => deviceMatches(request.name, d));
    if (!device) continue;
    const k = `${node.id}/${device.vendor}/${device.type}/${device.name}`;
    held.set(k, (held.get(k) ?? 0) + request.count);
  }
  return held;
}

export function jobRequestsDevices(job: NomadJob): boolean {
  return job.TaskGroups.some((g) => deviceRequests(g).length > 0);
}

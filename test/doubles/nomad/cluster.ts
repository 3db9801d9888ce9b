// The double's client nodes and what their devices hold: placement of a job's groups on the nodes
// (placement.ts, after scheduler/feasible.go and scheduler/rank.go), with device instances counted
// as held while an allocation is live (pending or running, desired run). Node built-ins only.
import type { NomadAllocation, NomadAllocationMetric, NomadJob } from "../../../src/clients/nomad/types.ts";
import { type DoubleNode, devicesHeld, doubleNode, jobRequestsDevices, placeGroup } from "./placement.ts";

export interface Schedule {
  readonly failed?: Record<string, NomadAllocationMetric>;
  /** Per group that fits: the node of each allocation index. */
  readonly nodes: ReadonlyMap<string, readonly DoubleNode[]>;
}

export class Cluster {
  /** The client nodes (host volumes, device groups): one plain node unless told otherwise. */
  nodes: readonly DoubleNode[] = [doubleNode(1)];
  /** Device instances held per allocation (only allocations that hold any). */
  readonly #held = new Map<string, { job: string; devices: Map<string, number> }>();
  readonly #alloc: (id: string) => NomadAllocation | undefined;

  constructor(alloc: (id: string) => NomadAllocation | undefined) {
    this.#alloc = alloc;
  }

  /** Where each group of the job goes, or why it cannot (all or nothing per group). */
  schedule(job: NomadJob, jobKey: string): Schedule {
    const used = jobRequestsDevices(job) ? this.#devicesInUse(jobKey) : new Map<string, number>();
    const nodes = new Map<string, readonly DoubleNode[]>();
    let failed: Record<string, NomadAllocationMetric> | undefined;
    for (const group of job.TaskGroups) {
      const placement = placeGroup(group, this.nodes, used);
      if (placement.nodes) nodes.set(group.Name, placement.nodes);
      if (placement.failure) {
        failed ??= {};
        failed[group.Name] = placement.failure;
      }
    }
    return failed ? { failed, nodes } : { nodes };
  }

  /** Puts a new allocation on its node: its devices are held while it is live. */
  place(alloc: NomadAllocation, job: NomadJob, jobKey: string, node: DoubleNode): void {
    alloc.NodeID = node.id;
    alloc.NodeName = node.name;
    const group = job.TaskGroups.find((g) => g.Name === alloc.TaskGroup);
    const devices = group ? devicesHeld(group, node) : new Map<string, number>();
    if (devices.size > 0) this.#held.set(alloc.ID, { job: jobKey, devices });
  }

  /** Device instances held by live allocations of other jobs, by node and device. */
  #devicesInUse(exceptJob: string): Map<string, number> {
    const used = new Map<string, number>();
    for (const [allocId, held] of this.#held) {
      const alloc = this.#alloc(allocId);
      const live =
        alloc?.DesiredStatus === "run" &&
        (alloc.ClientStatus === "pending" || alloc.ClientStatus === "running");
      if (!live) {
        if (alloc?.DesiredStatus !== "run") this.#held.delete(allocId);
        continue;
      }
      if (held.job === exceptJob) continue;
      for (const [k, n] of held.devices) used.set(k, (used.get(k) ?? 0) + n);
    }
    return used;
  }
}

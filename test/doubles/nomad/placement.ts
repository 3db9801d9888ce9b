// Server: Nomad 1.9.6 (and 2.0.3 where noted), hashicorp/nomad. Follows: scheduler/feasible.go,
// scheduler/rank.go, nomad/structs/structs.go (AllocMetric).
// The double's scheduler, as far as placement goes: nodes with a number of GPUs each. A job asking for
// more GPUs per allocation than a node has is not placed, and its evaluation says why, in the metric
// Nomad uses: no node with the device at all is ConstraintFiltered ("missing devices"), too few free
// is DimensionExhausted. Node built-ins only.
import type { NomadAllocationMetric, NomadJob } from "../../../src/clients/nomad/types.ts";

export interface Capacity {
  nodes: number;
  gpusPerNode: number;
}

export function capacityFailures(
  job: NomadJob,
  capacity: Capacity,
): Record<string, NomadAllocationMetric> | undefined {
  let out: Record<string, NomadAllocationMetric> | undefined;
  for (const group of job.TaskGroups) {
    const gpus = group.Tasks.reduce(
      (n, t) =>
        n + (t.Resources.Devices ?? []).reduce((m, d) => m + (d.Name.includes("gpu") ? d.Count : 0), 0),
      0,
    );
    if (gpus === 0 || gpus <= capacity.gpusPerNode) continue;
    const nodes = capacity.nodes;
    const none = capacity.gpusPerNode === 0;
    out ??= {};
    out[group.Name] = {
      NodesEvaluated: nodes,
      NodesFiltered: none ? nodes : 0,
      NodesExhausted: none ? 0 : nodes,
      ClassFiltered: null,
      ClassExhausted: null,
      ConstraintFiltered: none ? { "missing devices": nodes } : null,
      DimensionExhausted: none ? null : { "devices: no devices match request": nodes },
      CoalescedFailures: Math.max(0, group.Count - 1),
    };
  }
  return out;
}

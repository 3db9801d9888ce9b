// Nomad's FailedTGAllocs metric (structs.AllocMetric) → condition reason and message, with the
// filter names of Nomad's scheduler/feasible.go: "missing devices" (FilterConstraintDevices) and
// "missing compatible host volumes" (FilterConstraintHostVolumes).
import { describe, expect, it } from "vitest";
import type { NomadAllocationMetric } from "../../src/clients/nomad/types.ts";
import { observeRun, placementProblem, renderJob } from "../../src/scheduler/nomad/index.ts";
import { runRequest } from "../doubles/nomad/fixtures.ts";

const metric = (over: Partial<NomadAllocationMetric> = {}): NomadAllocationMetric => ({
  NodesEvaluated: 2,
  NodesFiltered: 0,
  NodesExhausted: 0,
  ConstraintFiltered: null,
  DimensionExhausted: null,
  CoalescedFailures: 0,
  ...over,
});

const job = renderJob(
  runRequest({
    replicas: 2,
    resources: { cpu: 100, memoryMB: 64, gpus: 2 },
    volumes: [
      { name: "datasets", mountPath: "/data", readOnly: true },
      { name: "checkpoints", mountPath: "/ckpt", readOnly: false },
    ],
  }),
);
const STACK = { stack: "team-a/platform" };

describe("placementProblem", () => {
  it.each([
    [
      "no node has the device",
      { ConstraintFiltered: { "missing devices": 2 }, NodesFiltered: 2 },
      STACK,
      "MissingDevice",
      [
        'no node offers 2 nvidia/gpu ("missing devices" on 2 of 2 node(s))',
        "enable spec.nomad.gpu of MlopsStack team-a/platform",
        "NVIDIA container runtime",
      ],
    ],
    [
      "no node declares the host volumes",
      { ConstraintFiltered: { "missing compatible host volumes": 1 }, NodesEvaluated: 1 },
      STACK,
      "MissingHostVolume",
      [
        'no node has host volume "datasets" (read-only), "checkpoints" (read-write)',
        '"missing compatible host volumes" on 1 of 1 node(s)',
        "declare them in spec.nomad.hostVolumes of MlopsStack team-a/platform",
      ],
    ],
    [
      "a Nomad configured by address",
      { ConstraintFiltered: { "missing compatible host volumes": 2 } },
      {},
      "MissingHostVolume",
      ["host_volume blocks in the Nomad agent configuration"],
    ],
    [
      "a Nomad configured by address, no device plugin",
      { ConstraintFiltered: { "missing devices": 2 } },
      {},
      "MissingDevice",
      ["external NVIDIA device plugin (nomad-device-nvidia)"],
    ],
    [
      "devices in use elsewhere",
      { DimensionExhausted: { "devices: no devices match request": 2 }, NodesExhausted: 2 },
      STACK,
      "InsufficientResources",
      ["no node has 2 nvidia/gpu free"],
    ],
    [
      "some nodes filtered, the rest exhausted: capacity, not configuration",
      {
        ConstraintFiltered: { "missing devices": 1 },
        DimensionExhausted: { "devices: no devices match request": 1 },
      },
      STACK,
      "InsufficientResources",
      ["missing devices", "no node has 2 nvidia/gpu free"],
    ],
    [
      "another constraint",
      { ConstraintFiltered: { distinct_hosts: 2 } },
      STACK,
      "Unschedulable",
      ['constraint "distinct_hosts" filtered 2 node(s)'],
    ],
    ["no node eligible", { NodesEvaluated: 0 }, STACK, "Unschedulable", ["no node is eligible"]],
    [
      "memory",
      { DimensionExhausted: { memory: 1 } },
      STACK,
      "InsufficientResources",
      ["memory exhausted on 1 node(s)"],
    ],
  ] as const)("%s", (_name, over, target, reason, texts) => {
    const out = placementProblem(job, "train", metric(over), target);
    expect(out.reason).toBe(reason);
    for (const text of texts) expect(out.message).toContain(text);
    expect(out.message).toMatch(/^Nomad cannot place group "train": /);
  });

  it("observeRun reports it from the latest evaluation while replicas are missing, naming the stack", () => {
    const run = observeRun({
      job: { ...job, Status: "pending", JobModifyIndex: 7 },
      allocations: [],
      evaluations: [
        {
          ID: "e7",
          JobID: job.ID,
          Namespace: job.Namespace,
          Status: "complete",
          FailedTGAllocs: { train: metric({ ConstraintFiltered: { "missing devices": 2 } }) },
          CreateIndex: 7,
          ModifyIndex: 7,
        },
      ],
      target: STACK,
    });
    expect(run.blocked?.reason).toBe("MissingDevice");
    expect(run.blocked?.message).toContain("MlopsStack team-a/platform");
  });
});

// Contract: the Nomad double places as Nomad v1.9.6 does where the operator can see it.
// - scheduler/feasible.go: DeviceChecker filters a node as FilterConstraintDevices "missing devices"
//   when no device group matches a request with enough healthy instances; HostVolumeChecker as
//   FilterConstraintHostVolumes "missing compatible host volumes" when a requested host volume is not
//   declared, or is read-only for a read-write request. scheduler/stack.go runs DeviceChecker (task
//   group checkers) before HostVolumeChecker (availability checkers): a node missing both counts
//   under "missing devices" only.
// - scheduler/rank.go: devices that exist but are held by other allocations exhaust the node:
//   DimensionExhausted "devices: no devices match request".
// - nomad/structs/structs.go CreateBlockedEval: the blocked evaluation carries FailedTGAllocs;
//   the job stays pending. nomad/state/events.go: evaluations are Topic "Evaluation" events, Key the
//   eval ID, FilterKeys the job ID and deployment ID.
// - nomad/structs DeviceIdTuple.Matches: "gpu", "nvidia/gpu", "nvidia/gpu/<name>".
// - A node's host volumes come from its client configuration's host_volume blocks; its devices only
//   from a configured device plugin (helper/pluginutils/catalog/register.go bundles none).
import { afterEach, describe, expect, it } from "vitest";
import type { NomadEvent, NomadJob } from "../../src/clients/nomad/types.ts";
import { renderJob } from "../../src/scheduler/nomad/index.ts";
import { renderStack } from "../../src/stack/render.ts";
import { nodeFromAgentConfig } from "../doubles/nomad/agent-config.ts";
import { runRequest } from "../doubles/nomad/fixtures.ts";
import { doubleNode, gpuNode, type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { deviceMatches } from "../doubles/nomad/placement.ts";
import { containerOf, renderOptions, stackOf } from "../stack/fixtures.ts";

const T4 = { vendor: "nvidia", type: "gpu", name: "Tesla T4", instances: 1 };

function job(spec: Parameters<typeof runRequest>[0], name = "resnet"): NomadJob {
  return {
    ...renderJob(runRequest(spec, { key: { kind: "TrainingJob", namespace: "default", name } })),
    Namespace: "default",
  };
}

const gpus = (n: number, name?: string) => job({ resources: { cpu: 100, memoryMB: 64, gpus: n } }, name);
const volumes = (...v: { name: string; readOnly: boolean }[]) =>
  job({ volumes: v.map((x) => ({ ...x, mountPath: `/mnt/${x.name}` })) });

describe("Nomad double: placement filters (scheduler/feasible.go)", () => {
  let nomad: NomadDouble;
  afterEach(async () => {
    await nomad.close();
  });

  const failures = (j: NomadJob) => nomad.state.placementFailures(j)?.train;

  it.each([
    ["a node without device plugin", [doubleNode(1)], gpus(1), { "missing devices": 1 }],
    ["too few instances on every node", [gpuNode(1, 1), gpuNode(2, 1)], gpus(2), { "missing devices": 2 }],
    [
      "no declared host volume",
      [doubleNode(1)],
      volumes({ name: "datasets", readOnly: true }),
      {
        "missing compatible host volumes": 1,
      },
    ],
    [
      "a read-only host volume for a read-write mount",
      [doubleNode(1, { hostVolumes: { ckpt: { path: "/srv/ckpt", readOnly: true } } })],
      volumes({ name: "ckpt", readOnly: false }),
      { "missing compatible host volumes": 1 },
    ],
    [
      "both missing: the device checker runs first",
      [doubleNode(1)],
      job({
        resources: { cpu: 1, memoryMB: 64, gpus: 1 },
        volumes: [{ name: "datasets", mountPath: "/d", readOnly: true }],
      }),
      { "missing devices": 1 },
    ],
    [
      "nodes missing different things",
      [gpuNode(1, 1), doubleNode(2, { hostVolumes: { datasets: { path: "/d", readOnly: true } } })],
      job({
        resources: { cpu: 1, memoryMB: 64, gpus: 1 },
        volumes: [{ name: "datasets", mountPath: "/d", readOnly: true }],
      }),
      { "missing devices": 1, "missing compatible host volumes": 1 },
    ],
  ] as const)("%s → ConstraintFiltered", async (_name, nodes, j, filtered) => {
    nomad = await startNomadDouble({ nodes });
    expect(failures(j)).toMatchObject({
      NodesEvaluated: nodes.length,
      NodesFiltered: nodes.length,
      NodesExhausted: 0,
      ConstraintFiltered: filtered,
      DimensionExhausted: null,
    });
  });

  it("a read-only host volume serves a read-only mount; a read-write one serves both", async () => {
    nomad = await startNomadDouble({
      nodes: [
        doubleNode(1, {
          hostVolumes: { datasets: { path: "/d", readOnly: true }, ckpt: { path: "/c", readOnly: false } },
        }),
      ],
    });
    expect(
      failures(volumes({ name: "datasets", readOnly: true }, { name: "ckpt", readOnly: true })),
    ).toBeUndefined();
    expect(failures(volumes({ name: "ckpt", readOnly: false }))).toBeUndefined();
  });

  it("GPUs held by another job's live allocation exhaust the node (scheduler/rank.go)", async () => {
    nomad = await startNomadDouble({ nodes: [gpuNode(1, 1)] });
    nomad.state.register(gpus(1, "first"));
    expect(nomad.allocations("default", "first").map((a) => a.NodeName)).toEqual(["double-node-1"]);
    expect(failures(gpus(1, "second"))).toMatchObject({
      NodesFiltered: 0,
      NodesExhausted: 1,
      ConstraintFiltered: null,
      DimensionExhausted: { "devices: no devices match request": 1 },
    });
    nomad.lifecycle.exit(nomad.allocations("default", "first")[0]?.ID ?? "", { exitCode: 0 });
    expect(failures(gpus(1, "second"))).toBeUndefined();
  });

  it("a job no node can run stays pending with a blocked evaluation carrying the failures, published as Evaluation events", async () => {
    nomad = await startNomadDouble();
    const j = volumes({ name: "datasets", readOnly: true });
    const published: NomadEvent[] = [];
    const unsubscribe = nomad.state.events.subscribe((frame) => published.push(...frame.Events));
    nomad.state.register(j);
    unsubscribe();
    expect(nomad.state.job("default", j.ID)?.Status).toBe("pending");
    expect(nomad.allocations("default", j.ID)).toEqual([]);
    const evals = nomad.state.jobEvals("default", j.ID);
    expect(evals.map((e) => e.Status)).toEqual(["blocked", "complete"]);
    for (const e of evals)
      expect(e.FailedTGAllocs?.train?.ConstraintFiltered).toEqual({ "missing compatible host volumes": 1 });
    const events = published.filter((e) => e.Topic === "Evaluation");
    expect(events.map((e) => [e.Type, e.Key, e.FilterKeys])).toEqual(
      [...evals].reverse().map((e) => ["EvaluationUpdated", e.ID, [j.ID, ""]]),
    );
    // A node that declares the volume unblocks the evaluation and places the job.
    nomad.setNodes([doubleNode(1, { hostVolumes: { datasets: { path: "/srv/datasets", readOnly: true } } })]);
    expect(nomad.allocations("default", j.ID)).toHaveLength(1);
  });
});

describe("Nomad double: device names (DeviceIdTuple.Matches)", () => {
  it.each([
    ["gpu", true],
    ["nvidia/gpu", true],
    ["nvidia/gpu/Tesla T4", true],
    ["amd/gpu", false],
    ["nvidia/fpga", false],
    ["nvidia/gpu/A100", false],
  ])("%s → %s", (request, matches) => {
    expect(deviceMatches(request, T4)).toBe(matches);
  });
});

describe("Nomad double: the node its agent configuration declares", () => {
  const stackConfig = (nomad: Record<string, unknown>) =>
    containerOf(renderStack(stackOf({ nomad }), renderOptions), "nomad").files[0]?.content ?? "";

  it("host volumes from the stack's host_volume blocks; no devices without the NVIDIA plugin, whatever the hardware", () => {
    const text = stackConfig({
      hostVolumes: [
        { name: "datasets", path: "/srv/datasets", readOnly: true },
        { name: "checkpoints", path: "/srv/checkpoints" },
      ],
    });
    const node = nodeFromAgentConfig(text, { gpus: 4 });
    expect(node.name).toBe("platform-nomad");
    expect(node.hostVolumes).toEqual({
      datasets: { path: "/srv/datasets", readOnly: true },
      checkpoints: { path: "/srv/checkpoints", readOnly: false },
    });
    expect(node.devices).toEqual([]);
  });

  it("with the NVIDIA plugin configured, the GPUs it would fingerprint", () => {
    const node = nodeFromAgentConfig(stackConfig({ gpu: { enabled: true } }), { gpus: 2 });
    expect(node.devices).toEqual([{ vendor: "nvidia", type: "gpu", name: "Tesla T4", instances: 2 }]);
    expect(nodeFromAgentConfig(stackConfig({})).hostVolumes).toEqual({});
  });
});

import { describe, expect, it } from "vitest";
import { consulServiceName } from "../../src/api/names.ts";
import type { TrainingJobSpec } from "../../src/api/resources.ts";
import type { NomadJob } from "../../src/clients/nomad/types.ts";
import { META, renderJob, SPEC_HASH_TARGET, specHashOf } from "../../src/scheduler/nomad/index.ts";
import { interpolation, runRequest } from "../doubles/nomad/fixtures.ts";

const S = 1_000_000_000;

const task = (job: NomadJob) => job.TaskGroups[0]?.Tasks[0];

describe("renderJob", () => {
  it("renders a batch job named and namespaced from the resource, owned through Meta", () => {
    const job = renderJob(runRequest());
    expect(job).toMatchObject({
      ID: "resnet",
      Name: "resnet",
      Namespace: "team-a",
      Type: "batch",
      Priority: 50,
    });
    expect(job.Datacenters).toEqual(["*"]);
    expect(job.NodePool).toBeUndefined();
    expect(job.Meta).toEqual({
      [META.managedBy]: "mlops-operator",
      [META.ownerId]: "owner-1",
      [META.key]: "TrainingJob/team-a/resnet",
      [META.generation]: "3",
      [META.runId]: "run-1",
      [META.runSpecHash]: "runspec-1",
      [META.attempt]: "1",
      [META.runVersion]: "0",
    });
    for (const k of Object.keys(job.Meta ?? {})) expect(k).toMatch(/^[a-z_]+$/);
    expect(specHashOf(job)).toBe("spec-1");
  });

  it.each([
    ["priority", { priority: 80 }],
    ["backoffLimit", { backoffLimit: 5 }],
  ])(
    "a change of the whole-spec hash only touches the spec-hash constraint and Priority (%s)",
    (_n, change) => {
      const a = renderJob(runRequest());
      const b = renderJob(runRequest(change as Partial<TrainingJobSpec>, { specHash: "spec-2" }));
      expect(b.Meta).toEqual(a.Meta);
      expect(specHashOf(b)).toBe("spec-2");
    },
  );

  it.each<[string, Partial<TrainingJobSpec>, (job: NomadJob) => unknown, unknown]>([
    ["replicas → Count", { replicas: 4 }, (j) => j.TaskGroups[0]?.Count, 4],
    [
      "no in-place restart whatever backoffLimit (the operator owns attempts)",
      { backoffLimit: 2 },
      (j) => j.TaskGroups[0]?.RestartPolicy,
      { Attempts: 0, Interval: 24 * 3600 * S, Delay: 15 * S, Mode: "fail" },
    ],
    ["no reschedule", {}, (j) => j.TaskGroups[0]?.ReschedulePolicy?.Attempts, 0],
    ["no unlimited reschedule", {}, (j) => j.TaskGroups[0]?.ReschedulePolicy?.Unlimited, false],
    ["datacenters", { datacenters: ["dc1", "dc2"] }, (j) => j.Datacenters, ["dc1", "dc2"]],
    ["node pool", { nodePool: "gpu" }, (j) => j.NodePool, "gpu"],
    [
      "cpu and memory",
      { resources: { cpu: 2000, memoryMB: 4096, gpus: 0 } },
      (j) => task(j)?.Resources,
      { CPU: 2000, MemoryMB: 4096 },
    ],
    [
      "gpus → nvidia/gpu device",
      { resources: { cpu: 1, memoryMB: 64, gpus: 2 } },
      (j) => task(j)?.Resources.Devices,
      [{ Name: "nvidia/gpu", Count: 2 }],
    ],
    ["docker driver", {}, (j) => task(j)?.Driver, "docker"],
    ["image", {}, (j) => task(j)?.Config.image, "registry.example.com/trainer:1.4.2"],
    [
      "command → entrypoint",
      { command: ["python", "-m"] },
      (j) => task(j)?.Config.entrypoint,
      ["python", "-m"],
    ],
    ["args", { args: ["train.py", "--epochs=3"] }, (j) => task(j)?.Config.args, ["train.py", "--epochs=3"]],
    ["shm in bytes", { shmSizeMB: 64 }, (j) => task(j)?.Config.shm_size, 64 * 1024 * 1024],
    [
      "env with WORLD_SIZE and RANK",
      { replicas: 3, env: [{ name: "LR", value: "0.1" }] },
      (j) => task(j)?.Env,
      {
        LR: "0.1",
        MLOPS_RUN_ID: "run-1",
        MLOPS_ATTEMPT: "1",
        WORLD_SIZE: "3",
        RANK: interpolation("NOMAD_ALLOC_INDEX"),
      },
    ],
    [
      "host path → bind mount",
      { volumes: [{ hostPath: "/data", mountPath: "/in", readOnly: true }] },
      (j) => task(j)?.Config.mount,
      [{ type: "bind", source: "/data", target: "/in", readonly: true }],
    ],
    [
      "named → host volume",
      { volumes: [{ name: "ckpt", mountPath: "/ckpt", readOnly: false }] },
      (j) => [j.TaskGroups[0]?.Volumes, task(j)?.VolumeMounts],
      [
        { ckpt: { Name: "ckpt", Type: "host", Source: "ckpt", ReadOnly: false } },
        [{ Volume: "ckpt", Destination: "/ckpt", ReadOnly: false }],
      ],
    ],
    [
      "constraints in Nomad's model, then the spec-hash carrier",
      {
        constraints: [
          { attribute: interpolation("attr.kernel.name"), operator: "=", value: "linux" },
          { attribute: "", operator: "distinct_hosts" },
          { attribute: interpolation("meta.rack"), operator: "is_set" },
        ],
      },
      (j) => j.Constraints,
      [
        { LTarget: interpolation("attr.kernel.name"), RTarget: "linux", Operand: "=" },
        { LTarget: "", RTarget: "true", Operand: "distinct_hosts" },
        { LTarget: interpolation("meta.rack"), RTarget: "", Operand: "is_set" },
        { LTarget: SPEC_HASH_TARGET, RTarget: "spec-1", Operand: "!=" },
      ],
    ],
    [
      "no metrics: no network, no service",
      {},
      (j) => [j.TaskGroups[0]?.Networks, task(j)?.Services],
      [undefined, undefined],
    ],
  ])("%s", (_name, spec, pick, expected) => {
    expect(pick(renderJob(runRequest(spec)))).toEqual(expected);
  });

  it("renders a metrics port and a Consul service that Prometheus can select (host mode)", () => {
    const job = renderJob(runRequest({ metrics: { port: 9100, path: "/m" } }));
    expect(job.TaskGroups[0]?.Networks).toEqual([
      { Mode: "host", DynamicPorts: [{ Label: "metrics", To: 9100 }] },
    ]);
    expect(task(job)?.Config.ports).toEqual(["metrics"]);
    expect(task(job)?.Config.network_mode).toBeUndefined();
    const service = task(job)?.Services?.[0];
    expect(service).toMatchObject({
      Name: consulServiceName("team-a", "resnet"),
      Provider: "consul",
      PortLabel: "metrics",
      AddressMode: "host",
      Meta: { metrics_path: "/m", mlops_namespace: "team-a", mlops_name: "resnet", mlops_run: "run-1" },
    });
    expect(service?.Tags).toEqual(expect.arrayContaining(["mlops-operator", "prometheus"]));
    expect(service?.Checks).toEqual([
      expect.objectContaining({
        Type: "http",
        Path: "/m",
        Interval: 10 * S,
        Timeout: 2 * S,
        AddressMode: "host",
      }),
    ]);
  });

  it("on a Docker network: network_mode and driver addresses", () => {
    const job = renderJob(runRequest({ metrics: { port: 9100, path: "/metrics" } }), {
      network: "mlops-network",
    });
    expect(task(job)?.Config.network_mode).toBe("mlops-network");
    expect(task(job)?.Config.ports).toBeUndefined();
    expect(task(job)?.Services?.[0]?.AddressMode).toBe("driver");
    expect(task(job)?.Services?.[0]?.Checks[0]?.AddressMode).toBe("driver");
  });

  it("renders max_run_duration only where the server supports it", () => {
    const spec = { activeDeadlineSeconds: 600 };
    expect(renderJob(runRequest(spec)).TaskGroups[0]?.MaxRunDuration).toBeUndefined();
    expect(renderJob(runRequest(spec), { maxRunDuration: true }).TaskGroups[0]?.MaxRunDuration).toBe(600 * S);
  });

  it("is pure: the same request renders the same JSON", () => {
    expect(JSON.stringify(renderJob(runRequest()))).toBe(JSON.stringify(renderJob(runRequest())));
  });
});

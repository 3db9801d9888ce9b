// mlops_resource_info (one series per resource, gone with the resource) and mlops_gpu_seconds_total
// (GPU-seconds of running replicas, by namespace), as a scrape of the registry sees them.
import { afterEach, describe, expect, it } from "vitest";
import type { AnyResource } from "../../src/api/resources.ts";
import { observeResources, registry } from "../../src/observability/metrics.ts";
import { GpuAccounting } from "../../src/trainingjob/gpu-accounting.ts";
import type { Phase } from "../../src/trainingjob/model.ts";
import { metricValue } from "../controller/metric-values.ts";
import { trainingJob } from "../trainingjob/builders.ts";
import { Harness } from "../trainingjob/harness.ts";

afterEach(() => observeResources(() => []));

const info = async () =>
  (await registry.getSingleMetricAsString("mlops_resource_info"))
    .split("\n")
    .filter((l) => !l.startsWith("#"));

describe("mlops_resource_info", () => {
  it("has one series per resource, with Ready, phase and reason, and drops a resource that goes", async () => {
    const running = trainingJob({}, 1, "mnist");
    running.status = {
      phase: "Running",
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "Running",
          message: "",
          lastTransitionTime: "2026-01-01T00:00:00Z",
        },
      ],
    };
    const fresh = trainingJob({}, 1, "bert");
    let resources: AnyResource[] = [running, fresh];
    observeResources((kind) => resources.filter((r) => r.kind === kind));
    expect(await info()).toEqual([
      'mlops_resource_info{kind="TrainingJob",namespace="default",name="mnist",ready="True",phase="Running",reason="Running"} 1',
      'mlops_resource_info{kind="TrainingJob",namespace="default",name="bert",ready="Unknown",phase="",reason=""} 1',
    ]);
    running.status.progress = { ratio: 0.25, updatedAt: "2026-01-01T00:00:00Z" };
    running.status.conditions?.push({
      type: "ProgressStalled",
      status: "True",
      reason: "ProgressDeadlineExceeded",
      message: "",
      lastTransitionTime: "2026-01-01T00:00:00Z",
    });
    expect(await metricValue("mlops_trainingjob_progress_ratio", { name: "mnist" })).toBe(0.25);
    expect(await metricValue("mlops_trainingjob_progress_stalled", { name: "mnist" })).toBe(1);
    expect(await metricValue("mlops_trainingjob_progress_stalled", { name: "bert" })).toBeUndefined();
    running.status.phase = "Failed";
    resources = [running];
    const after = await info();
    expect(after).toHaveLength(1);
    expect(after[0]).toContain('phase="Failed"');
    resources = [];
    expect(await metricValue("mlops_trainingjob_progress_ratio", { name: "mnist" })).toBeUndefined();
  });

  it("mlops_trainingjob_failed_attempts counts the current run's failures charged to a budget, not preemptions", async () => {
    const job = trainingJob({}, 1, "flaky");
    const ended = { startTime: "2026-01-01T00:00:00Z", completionTime: "2026-01-01T00:01:00Z" };
    job.status = {
      phase: "Pending",
      run: {
        id: "g1-run",
        attempts: [
          { attempt: 1, ...ended, counted: "user" },
          { attempt: 2, ...ended, counted: "infra", preemptedBy: "default/urgent" },
          { attempt: 3, ...ended, counted: "infra" },
          { attempt: 4, startTime: "2026-01-01T00:02:00Z" },
        ],
      },
    };
    const clean = trainingJob({}, 1, "clean");
    clean.status = {
      phase: "Running",
      run: { id: "g1-other", attempts: [{ attempt: 1, startTime: ended.startTime }] },
    };
    observeResources((kind) => (kind === "TrainingJob" ? [job, clean] : []));
    expect(await metricValue("mlops_trainingjob_failed_attempts", { name: "flaky" })).toBe(2);
    expect(await metricValue("mlops_trainingjob_failed_attempts", { name: "clean" })).toBeUndefined();
  });
});

describe("mlops_trainingjobs", () => {
  const phased = (name: string, namespace: string, phase?: Phase) => {
    const job = trainingJob({}, 1, name);
    job.metadata.namespace = namespace;
    if (phase) job.status = { phase };
    return job;
  };
  const counts = async () =>
    (await registry.getSingleMetricAsString("mlops_trainingjobs"))
      .split("\n")
      .filter((l) => !l.startsWith("#"))
      .sort();

  it("counts the listed jobs by namespace and recorded phase at each scrape: a restart counts them all, a deleted job leaves", async () => {
    // As a restarted operator's source lists them: statuses read from the state, nothing written yet.
    let resources: AnyResource[] = [
      phased("a", "team-x", "Running"),
      phased("b", "team-x", "Running"),
      phased("c", "team-x", "Succeeded"),
      phased("d", "team-y", "Queued"),
      phased("new", "team-y"), // never reconciled: no phase, not counted
    ];
    observeResources((kind) => resources.filter((r) => r.kind === kind));
    expect(await counts()).toEqual([
      'mlops_trainingjobs{namespace="team-x",phase="Running"} 2',
      'mlops_trainingjobs{namespace="team-x",phase="Succeeded"} 1',
      'mlops_trainingjobs{namespace="team-y",phase="Queued"} 1',
    ]);
    // One job finished, one deleted (gone from the source), the new one pending.
    resources = [
      phased("a", "team-x", "Succeeded"),
      phased("c", "team-x", "Succeeded"),
      phased("d", "team-y", "Queued"),
      phased("new", "team-y", "Pending"),
    ];
    expect(await counts()).toEqual([
      'mlops_trainingjobs{namespace="team-x",phase="Succeeded"} 2',
      'mlops_trainingjobs{namespace="team-y",phase="Pending"} 1',
      'mlops_trainingjobs{namespace="team-y",phase="Queued"} 1',
    ]);
    resources = [];
    expect(await counts()).toEqual([]);
  });
});

describe("the per-resource families' lists", () => {
  it("lists each kind once for a scrape, and anew for the next", async () => {
    const calls: string[] = [];
    let resources: AnyResource[] = [trainingJob({}, 1, "mnist")];
    observeResources((kind) => {
      calls.push(kind);
      return resources.filter((r) => r.kind === kind);
    });
    const scrape = async () => {
      let text = "";
      for await (const piece of registry.pieces())
        text += typeof piece === "string" ? piece : Buffer.from(piece);
      return text;
    };
    expect(await scrape()).toContain('name="mnist"');
    // Three families of TrainingJobs and the queue gauges of TrainingQueues: each kind once.
    expect(calls.filter((k) => k === "TrainingJob")).toHaveLength(1);
    expect(calls.filter((k) => k === "TrainingQueue")).toHaveLength(1);
    resources = [trainingJob({}, 1, "bert")];
    const next = await scrape();
    expect([next.includes('name="bert"'), next.includes('name="mnist"')]).toEqual([true, false]);
    expect(calls.filter((k) => k === "TrainingJob")).toHaveLength(2);
  });
});

describe("GpuAccounting", () => {
  const key = "TrainingJob/ml/train" as const;
  it.each([
    ["first sight counts nothing", [[0, 2, false]], [0]],
    [
      "replicas running at the last look ran until this one",
      [
        [0, 2, false],
        [60_000, 2, false],
      ],
      [0, 240],
    ],
    [
      "a replica that started since counts from the next look",
      [
        [0, 1, false],
        [10_000, 2, false],
        [20_000, 2, false],
      ],
      [0, 20, 40],
    ],
    [
      "up to the finish, then no more",
      [
        [0, 2, false],
        [30_000, 0, true],
        [90_000, 0, true],
      ],
      [0, 120, 0],
    ],
  ])("%s (2 GPUs per replica)", (_, looks, expected) => {
    const gpu = new GpuAccounting();
    const got = (looks as [number, number, boolean][]).map(([at, running, finished]) =>
      gpu.observe({ key, runId: "g1-a", gpusPerReplica: 2, runningReplicas: running, at, finished }),
    );
    expect(got).toEqual(expected);
  });

  it("a new run of the same job starts its own accounting", () => {
    const gpu = new GpuAccounting();
    gpu.observe({ key, runId: "g1-a", gpusPerReplica: 1, runningReplicas: 1, at: 0, finished: false });
    expect(
      gpu.observe({ key, runId: "g2-b", gpusPerReplica: 1, runningReplicas: 1, at: 60_000, finished: false }),
    ).toBe(0);
  });
});

describe("mlops_gpu_seconds_total from the reconciler", () => {
  it("adds GPUs × running replicas × time between reconciles, by namespace", async () => {
    const h = new Harness();
    const job = trainingJob({ resources: { cpu: 100, memoryMB: 128, gpus: 2 }, replicas: 1 });
    job.metadata.namespace = "gpu-ns";
    const before = (await metricValue("mlops_gpu_seconds_total", { namespace: "gpu-ns" })) ?? 0;
    await h.reconcile(job);
    h.scheduler.setReplicas("train", "running");
    await h.reconcile(job);
    h.now = new Date(h.now.getTime() + 90_000);
    await h.reconcile(job);
    expect((await metricValue("mlops_gpu_seconds_total", { namespace: "gpu-ns" })) ?? 0).toBe(before + 180);
  });
});

describe("mlops_trainingjob_time_to_running_seconds", () => {
  it("observes submit → Running once per run, not again while it keeps running", async () => {
    const h = new Harness();
    const job = trainingJob();
    job.metadata.namespace = "ttr-ns";
    const count = async () =>
      (await metricValue("mlops_trainingjob_time_to_running_seconds_count", { namespace: "ttr-ns" })) ?? 0;
    const sum = async () =>
      (await metricValue("mlops_trainingjob_time_to_running_seconds_sum", { namespace: "ttr-ns" })) ?? 0;
    const [c0, s0] = [await count(), await sum()];
    await h.reconcile(job);
    h.now = new Date(h.now.getTime() + 42_000);
    h.scheduler.setReplicas("train", "running");
    await h.reconcile(job);
    h.now = new Date(h.now.getTime() + 60_000);
    await h.reconcile(job);
    expect(await count()).toBe(c0 + 1);
    expect(await sum()).toBe(s0 + 42);
  });
});

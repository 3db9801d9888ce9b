// status.progress and ProgressStalled: the pure rules (tables), and the reconciler reading a run's
// progress through the ProgressReader port (the stack's reader before the operator-wide one).
import { describe, expect, it } from "vitest";
import type { Sample } from "../../src/clients/prometheus/index.ts";
import { progressOf, RateLimitedProgressReader } from "../../src/trainingjob/adapters/index.ts";
import { runSpecHash } from "../../src/trainingjob/hash.ts";
import type { ProgressReader, ProgressTarget, RunProgress } from "../../src/trainingjob/ports.ts";
import { describeProgress, nextProgress, progressStalled } from "../../src/trainingjob/progress.ts";
import { PROGRESS_POLL_MS } from "../../src/trainingjob/reconciler.ts";
import { trainingJob } from "./builders.ts";
import { Harness } from "./harness.ts";

const T0 = new Date("2026-01-01T12:00:00Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

describe("nextProgress", () => {
  it.each([
    [
      "first reading",
      undefined,
      { ratio: 0.1, epoch: 1 },
      { ratio: 0.1, epoch: 1, updatedAt: at(60).toISOString() },
    ],
    [
      "same reading keeps updatedAt",
      { ratio: 0.1, epoch: 1, updatedAt: T0.toISOString() },
      { ratio: 0.1, epoch: 1 },
      { ratio: 0.1, epoch: 1, updatedAt: T0.toISOString() },
    ],
    [
      "a moved epoch alone moves updatedAt",
      { ratio: 0.1, epoch: 1, updatedAt: T0.toISOString() },
      { ratio: 0.1, epoch: 2 },
      { ratio: 0.1, epoch: 2, updatedAt: at(60).toISOString() },
    ],
    [
      "no reading keeps what was there",
      { ratio: 0.5, updatedAt: T0.toISOString() },
      undefined,
      { ratio: 0.5, updatedAt: T0.toISOString() },
    ],
    ["nothing ever read", undefined, undefined, undefined],
  ])("%s", (_, previous, reading, expected) => {
    expect(nextProgress(previous, reading, at(60))).toEqual(expected);
  });
});

describe("progressStalled", () => {
  const moved = { ratio: 0.4, epoch: 4, updatedAt: at(0).toISOString() };
  it.each([
    ["no deadline", undefined, moved, at(0), 10_000, false],
    ["moved within the deadline", 600, moved, at(0), 599, false],
    ["not moved for the deadline", 600, moved, at(0), 600, true],
    [
      "moved recently although running long",
      600,
      { ...moved, updatedAt: at(900).toISOString() },
      at(0),
      1000,
      false,
    ],
    ["never reported, running for less than the deadline", 600, undefined, at(0), 300, false],
    ["never reported, running past the deadline", 600, undefined, at(0), 601, true],
    ["old progress of before running counts from running", 600, moved, at(500), 700, false],
  ])("%s", (_, deadline, progress, since, nowSeconds, stalled) => {
    const condition = progressStalled({
      deadlineSeconds: deadline,
      progress,
      runningSince: since.toISOString(),
      now: at(nowSeconds),
    });
    expect(condition !== undefined).toBe(stalled);
    if (condition)
      expect(condition).toMatchObject({
        type: "ProgressStalled",
        status: "True",
        reason: "ProgressDeadlineExceeded",
      });
  });
});

describe("describeProgress and progressOf", () => {
  it.each([
    [undefined, "<none>"],
    [{}, "<none>"],
    [{ ratio: 0.456 }, "45%"],
    [{ ratio: 1, epoch: 10 }, "100% epoch 10"],
    [{ epoch: 3 }, "epoch 3"],
  ])("%j → %s", (progress, text) => expect(describeProgress(progress)).toBe(text));

  const s = (name: string, value: number, rank = "0"): Sample => ({
    metric: { __name__: name, rank },
    value,
    timestamp: 0,
  });
  it.each([
    ["no progress metrics", [s("training_loss", 1)], undefined],
    [
      "the slowest replica",
      [s("mlops_training_progress_ratio", 0.5), s("mlops_training_progress_ratio", 0.25, "1")],
      { ratio: 0.25 },
    ],
    [
      "clamped to 0..1 and epochs whole",
      [s("mlops_training_progress_ratio", 1.7), s("mlops_training_epoch", 3.9)],
      { ratio: 1, epoch: 3 },
    ],
    [
      "NaN ignored",
      [s("mlops_training_progress_ratio", Number.NaN), s("mlops_training_epoch", 2)],
      { epoch: 2 },
    ],
  ])("%s", (_, samples, expected) => expect(progressOf(samples)).toEqual(expected));
});

describe("RateLimitedProgressReader", () => {
  it("reads each run at most once per interval and returns the last answer in between", async () => {
    let now = 0;
    const reads: string[] = [];
    const inner: ProgressReader = {
      read: async (t) => {
        reads.push(t.name);
        return { ratio: reads.length / 10 };
      },
    };
    const limited = new RateLimitedProgressReader(inner, 15_000, () => now);
    const target = (name: string): ProgressTarget => ({
      key: `TrainingJob/default/${name}`,
      namespace: "default",
      name,
      addresses: [],
      path: "/metrics",
    });
    expect(await limited.read(target("a"))).toEqual({ ratio: 0.1 });
    now = 14_999;
    expect(await limited.read(target("a"))).toEqual({ ratio: 0.1 });
    expect(await limited.read(target("b"))).toEqual({ ratio: 0.2 });
    now = 15_000;
    expect(await limited.read(target("a"))).toEqual({ ratio: 0.3 });
    expect(reads).toEqual(["a", "b", "a"]);
    now = 40_000; // b's answer is older than the interval: dropped, not kept for ever
    await limited.read(target("a"));
    expect(limited.size).toBe(1);
  });
});

describe("the reconciler and a run's progress", () => {
  function reader(progress: () => RunProgress | undefined | Error) {
    const targets: ProgressTarget[] = [];
    const port: ProgressReader = {
      read: async (t) => {
        targets.push(t);
        const p = progress();
        if (p instanceof Error) throw p;
        return p;
      },
    };
    return { port, targets };
  }

  it("looks again after --progress-interval while a run with metrics runs (default 15 s)", async () => {
    const h = new Harness();
    const r = reader(() => ({ ratio: 0.5, epoch: 6 }));
    h.ctx = { ...h.ctx, progress: r.port, progressIntervalMs: 3_000 };
    const job = trainingJob({ metrics: { port: 8000, path: "/m" } });
    await h.reconcile(job);
    h.scheduler.setReplicas("train", "running", { address: "10.0.0.5:8000" });
    expect(await h.reconcile(job)).toEqual({ requeueAfterMs: 3_000 });
    expect(PROGRESS_POLL_MS).toBe(15_000);
  });

  it("writes status.progress while running, ProgressStalled after the deadline, and clears it when progress moves", async () => {
    const h = new Harness();
    let current: RunProgress | undefined | Error = { ratio: 0.1, epoch: 1 };
    const r = reader(() => current);
    h.ctx = { ...h.ctx, progress: r.port };
    const job = trainingJob({ metrics: { port: 8000, path: "/m" }, progressDeadlineSeconds: 600 });
    await h.reconcile(job);
    expect(r.targets).toEqual([]); // not running yet: nothing read
    h.scheduler.setReplicas("train", "running", { address: "10.0.0.5:8000" });
    expect(await h.reconcile(job)).toEqual({ requeueAfterMs: PROGRESS_POLL_MS });
    expect(r.targets.at(-1)).toEqual({
      key: "TrainingJob/default/train",
      namespace: "default",
      name: "train",
      addresses: ["10.0.0.5:8000"],
      path: "/m",
    });
    expect(job.status?.progress).toEqual({ ratio: 0.1, epoch: 1, updatedAt: h.now.toISOString() });

    h.now = new Date(h.now.getTime() + 601_000);
    await h.reconcile(job);
    const stalled = () => job.status?.conditions?.find((c) => c.type === "ProgressStalled");
    expect(stalled()).toMatchObject({ status: "True", reason: "ProgressDeadlineExceeded" });
    expect(stalled()?.message).toContain("10% epoch 1");
    expect(job.status?.phase).toBe("Running"); // a stalled run keeps running: the user decides

    current = new Error("Prometheus down"); // an unreadable source changes nothing
    h.now = new Date(h.now.getTime() + 30_000);
    await h.reconcile(job);
    expect(stalled()?.status).toBe("True");
    expect(job.status?.progress?.ratio).toBe(0.1);

    current = { ratio: 0.2, epoch: 2 };
    await h.reconcile(job);
    expect(stalled()).toBeUndefined();
    expect(job.status?.progress).toEqual({ ratio: 0.2, epoch: 2, updatedAt: h.now.toISOString() });

    h.scheduler.setReplicas("train", "succeeded", { exitCode: 0 });
    const reads = r.targets.length;
    expect(await h.reconcile(job)).toEqual({ awaitChange: true });
    expect(r.targets.length).toBe(reads); // a finished run is not read again
    expect(job.status?.progress?.ratio).toBe(0.2); // its last progress stays
  });

  it("a changed progressDeadlineSeconds keeps the run (an in-place field)", () => {
    const spec = trainingJob({ metrics: { port: 8000, path: "/metrics" } }).spec;
    expect(runSpecHash({ ...spec, progressDeadlineSeconds: 60 })).toBe(runSpecHash(spec));
  });

  it("reads a run on a stack through the stack's reader, not the operator-wide one", async () => {
    const h = new Harness();
    const wide = reader(() => ({ ratio: 0.9 }));
    const stack = reader(() => ({ ratio: 0.3 }));
    h.ctx = {
      ...h.ctx,
      progress: wide.port,
      schedulers: {
        resolve: () => ({ scheduler: h.scheduler, progress: stack.port }),
        byTarget: () => h.scheduler,
      },
    };
    const job = trainingJob({ metrics: { port: 8000, path: "/metrics" } });
    await h.reconcile(job);
    h.scheduler.setReplicas("train", "running");
    await h.reconcile(job);
    expect(job.status?.progress?.ratio).toBe(0.3);
    expect(wide.targets).toEqual([]);
  });

  it("reads nothing for a job without a metrics endpoint, needs no polling, and never calls it stalled", async () => {
    const h = new Harness();
    const r = reader(() => ({ ratio: 0.5 }));
    h.ctx = { ...h.ctx, progress: r.port };
    const job = trainingJob({ progressDeadlineSeconds: 60 });
    await h.reconcile(job);
    h.scheduler.setReplicas("train", "running");
    expect(await h.reconcile(job)).toEqual({ awaitChange: true });
    h.now = new Date(h.now.getTime() + 3600_000);
    await h.reconcile(job);
    expect(r.targets).toEqual([]);
    expect(job.status?.progress).toBeUndefined();
    expect(job.status?.conditions?.find((c) => c.type === "ProgressStalled")).toBeUndefined();
  });
});

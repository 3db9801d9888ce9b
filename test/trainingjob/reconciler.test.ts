import { Subject } from "rxjs";
import { describe, expect, it } from "vitest";
import { keyOf } from "../../src/api/resources.ts";
import { trainingJob } from "./builders.ts";
import { Harness } from "./harness.ts";

describe("TrainingJob reconciler scenarios", () => {
  it("creates a run, follows it to Succeeded, and never runs it again", async () => {
    const h = new Harness({ annotator: true });
    const job = trainingJob({});
    await h.reconcile(job);
    expect(h.scheduler.calls).toEqual(["observe train", expect.stringMatching(/^submit train g1-/)]);
    expect(job.status?.phase).toBe("Pending");
    expect(job.status?.conditions?.find((c) => c.type === "Reconciling")?.status).toBe("True");

    h.scheduler.setReplicas("train", "running", { startedAt: "2026-01-01T12:00:01Z" });
    await h.reconcile(job);
    expect(job.status?.phase).toBe("Running");
    expect(job.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");

    h.scheduler.setReplicas("train", "succeeded", { exitCode: 0, finishedAt: "2026-01-01T12:05:00Z" });
    await h.reconcile(job);
    expect(job.status?.phase).toBe("Succeeded");
    expect(job.status?.completionTime).toBe("2026-01-01T12:05:00Z");
    expect(job.status?.conditions?.find((c) => c.type === "Complete")?.status).toBe("True");
    expect(h.annotator?.calls).toEqual([
      expect.stringMatching(/^started g1-/),
      expect.stringMatching(/^finished g1-\S+ Succeeded id=1$/),
    ]);

    // The job is garbage-collected by Nomad: a finished run is never re-created, 404 is no failure.
    h.scheduler.runs.clear();
    h.scheduler.calls.length = 0;
    const writes = h.statusWrites.length;
    await h.reconcile(job);
    expect(h.scheduler.calls).toEqual(["observe train"]);
    expect(job.status?.phase).toBe("Succeeded");
    expect(h.statusWrites.length).toBe(writes + 1); // the writer itself skips unchanged status
    expect(h.annotator?.calls).toHaveLength(2);
  });

  it("annotates a new run as fresh (no search), one adopted after a lost status as not fresh", async () => {
    const h = new Harness({ annotator: true });
    const job = trainingJob({});
    await h.reconcile(job);
    expect(h.annotator?.calls).toEqual([expect.stringMatching(/^started g1-\S+ fresh$/)]);
    // The process died before status was written: the job is there, its annotation may be too.
    delete job.status;
    await h.reconcile(job);
    expect(h.annotator?.calls[1]).toMatch(/^started g1-\S+$/);
  });

  it("is idempotent: a second reconcile of a converged job makes no write to the scheduler", async () => {
    const h = new Harness();
    const job = trainingJob({});
    await h.reconcile(job);
    h.scheduler.setReplicas("train", "running");
    await h.reconcile(job);
    h.scheduler.calls.length = 0;
    await h.reconcile(job);
    expect(h.scheduler.calls).toEqual(["observe train"]);
  });

  it("keeps the scheduler's version in status: answered by submit and stop, given back to observe", async () => {
    const h = new Harness();
    h.scheduler.versioned = true;
    const job = trainingJob({});
    await h.reconcile(job);
    expect(job.status?.run?.schedulerVersion).toBe("v1"); // what the register answered
    h.scheduler.setReplicas("train", "running");
    await h.reconcile(job);
    await h.reconcile(job);
    expect(h.scheduler.recordedVersions).toEqual([undefined, "v1", "v1"]);
    expect(job.status?.run?.schedulerVersion).toBe("v1");
    // Changed outside the operator: the version observed replaces the recorded one.
    h.scheduler.touch("train");
    await h.reconcile(job);
    expect(job.status?.run?.schedulerVersion).toBe("v2");
    // A stop is a write: its answer is recorded.
    job.spec.suspend = true;
    job.metadata.generation = 2;
    await h.reconcile(job);
    expect(h.scheduler.calls.at(-1)).toMatch(/^stop train/);
    expect(job.status?.run?.schedulerVersion).toBe("v3");
  });

  it("records no version for a scheduler that keeps none (Docker)", async () => {
    const h = new Harness();
    const job = trainingJob({});
    await h.reconcile(job);
    h.scheduler.setReplicas("train", "running");
    await h.reconcile(job);
    expect(job.status?.run).not.toHaveProperty("schedulerVersion");
  });

  it("says Submitted while the scheduler only placed the run: the reconcile after it finds the same status", async () => {
    // The placement of a run just sent does not wake the job (own-writes.ts); a resync that finds
    // it must not rewrite the status either, whether the placement came before the first read or after.
    const h = new Harness();
    const job = trainingJob({ replicas: 2 });
    await h.reconcile(job);
    const submitted = structuredClone(job.status);
    const ready = () => job.status?.conditions?.find((c) => c.type === "Ready");
    expect(ready()).toMatchObject({
      reason: "Submitted",
      message: expect.stringMatching(/^run g1-\S+ submitted$/),
    });
    expect(h.scheduler.runs.get("train")?.replicas.map((r) => r.state)).toEqual(["pending", "pending"]);
    await h.reconcile(job);
    expect(job.status).toEqual(submitted);
    expect(job.status?.run?.replicas).toBeUndefined();

    // Anything more than a placement is news, and is shown: a reason, then a start.
    h.scheduler.setReplicas("train", "pending", { reason: "ImagePulling", message: "pulling the image" });
    await h.reconcile(job);
    expect(ready()).toMatchObject({ reason: "Scheduling", message: "pulling the image" });
    expect(job.status?.run?.replicas?.map((r) => [r.index, r.state, r.reason])).toEqual([
      [0, "pending", "ImagePulling"],
      [1, "pending", "ImagePulling"],
    ]);
    const run = h.scheduler.runs.get("train");
    if (!run) throw new Error("no run");
    h.scheduler.runs.set("train", {
      ...run,
      replicas: [
        { index: 0, id: "a", state: "running", restarts: 0, startedAt: "2026-01-01T12:00:01Z" },
        { index: 1, id: "b", state: "pending", restarts: 0 },
      ],
    });
    await h.reconcile(job);
    expect(ready()).toMatchObject({ reason: "Scheduling", message: "1 of 2 replica(s) started" });
    expect(job.status?.run?.replicas?.map((r) => [r.index, r.state])).toEqual([[0, "running"]]);
  });

  it("an in-place update of a running run (priority) keeps it Running, with no phase event", async () => {
    const h = new Harness();
    const job = trainingJob({});
    await h.reconcile(job);
    h.scheduler.setReplicas("train", "running");
    await h.reconcile(job);
    expect(job.status?.phase).toBe("Running");
    const events = h.events.length;
    const edited = trainingJob({ priority: 80 }, 2);
    edited.status = job.status ?? {};
    await h.reconcile(edited);
    expect(h.scheduler.calls.at(-1)).toMatch(/^submit train /);
    expect(edited.status?.phase).toBe("Running");
    expect(h.events.slice(events).filter((e) => !e.startsWith("Normal Updated"))).toEqual([]);
  });

  it("suspends and resumes the same run", async () => {
    const h = new Harness();
    const job = trainingJob({});
    await h.reconcile(job);
    h.scheduler.setReplicas("train", "running");
    const runId = job.status?.run?.id;
    const suspended = trainingJob({ suspend: true }, 2);
    suspended.status = job.status ?? {};
    await h.reconcile(suspended);
    expect(h.scheduler.calls.at(-1)).toBe("stop train suspend");
    expect(suspended.status?.phase).toBe("Suspended");
    const resumed = trainingJob({ suspend: false }, 3);
    resumed.status = suspended.status ?? {};
    await h.reconcile(resumed);
    expect(h.scheduler.calls.at(-1)).toBe(`submit train ${runId}`);
    expect(resumed.status?.run?.id).toBe(runId);
  });

  it("reports an unavailable scheduler on the resource and rethrows for backoff", async () => {
    const h = new Harness();
    h.scheduler.unavailable = true;
    const job = trainingJob({});
    await expect(h.reconcile(job)).rejects.toThrow("connection refused");
    expect(job.status?.phase).toBe("Pending");
    expect(job.status?.conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "Unknown",
      reason: "SchedulerUnavailable",
    });
  });

  it.each([
    ["Running", "running", undefined],
    ["Succeeded", "succeeded", "Complete"],
  ] as const)(
    "an unreachable scheduler keeps the phase %s: Ready Unknown (SchedulerUnavailable), no event, back after recovery",
    async (phase, state, jobCondition) => {
      const h = new Harness();
      const job = trainingJob({ metrics: { port: 8000, path: "/metrics" } });
      await h.reconcile(job);
      h.scheduler.setReplicas("train", state, {
        startedAt: "2026-01-01T12:00:01Z",
        exitCode: 0,
        finishedAt: "2026-01-01T12:05:00Z",
      });
      await h.reconcile(job);
      expect(job.status?.phase).toBe(phase);
      const before = job.status;
      const events = h.events.length;

      h.scheduler.unavailable = true;
      h.now = new Date("2026-01-01T13:00:00Z");
      for (let i = 0; i < 3; i++) await h.reconcile(job).catch(() => undefined);
      expect(job.status?.phase).toBe(phase);
      if (phase === "Running") {
        expect(job.status?.conditions?.find((c) => c.type === "Ready")).toMatchObject({
          status: "Unknown",
          reason: "SchedulerUnavailable",
          message: expect.stringContaining("DockerUnavailable: connection refused; phase Running"),
        });
        expect(job.status?.conditions?.find((c) => c.type === "Reconciling")?.status).toBe("True");
      }
      if (jobCondition)
        expect(job.status?.conditions?.find((c) => c.type === jobCondition)?.status).toBe("True");
      expect(job.status?.run).toEqual(before?.run);
      expect(job.status?.startTime).toBe(before?.startTime);
      expect(h.events.length).toBe(events); // no phase change, no phase event

      h.scheduler.unavailable = false;
      await h.reconcile(job);
      expect(job.status?.phase).toBe(phase);
      expect(job.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    },
  );

  it("a Grafana outage never blocks the run: counted, retried later", async () => {
    const h = new Harness({ failingAnnotator: true });
    const job = trainingJob({});
    const action = await h.reconcile(job);
    expect(h.scheduler.calls.at(-1)).toMatch(/^submit/);
    expect(action).toEqual({ requeueAfterMs: 30_000 });
    expect(job.status?.run?.annotationId).toBeUndefined();
  });

  it("finalize purges the run where it was placed", async () => {
    const h = new Harness();
    const job = trainingJob({});
    await h.reconcile(job);
    await expect(h.finalize(job)).resolves.toBe("done");
    expect(h.scheduler.calls.at(-1)).toBe("purge train");
    expect(h.scheduler.runs.size).toBe(0);
  });

  it("finalize with nothing recorded (killed before the status write) purges where a job would run", async () => {
    const h = new Harness();
    await h.reconcile(trainingJob({}));
    await expect(h.reconciler.finalize(keyOf(trainingJob({})), undefined, h.ctx)).resolves.toBe("done");
    expect(h.scheduler.calls.at(-1)).toBe("purge train");
    expect(h.scheduler.runs.size).toBe(0);
  });

  it("records events on phase transitions", async () => {
    const h = new Harness();
    const job = trainingJob({ backoffLimit: 0 });
    await h.reconcile(job);
    h.scheduler.setReplicas("train", "failed", { exitCode: 2, exhausted: true });
    await h.reconcile(job);
    expect(h.events).toContain("Normal Created");
    expect(h.events).toContain("Warning BackoffLimitExceeded");
    expect(job.status?.conditions?.find((c) => c.type === "Stalled")?.status).toBe("True");
  });

  it("with retryPolicy.backoff the retry waits: a Warning RetryBackoff, a wake-up at its time, then the next attempt", async () => {
    const h = new Harness();
    const backoff = { delaySeconds: 30, factor: 2, maxDelaySeconds: 360 };
    const job = trainingJob({ backoffLimit: 1, retryPolicy: { infraRetryLimit: 3, backoff } });
    await h.reconcile(job);
    // Both schedulers report a plain non-zero exit as "exit code N": the status says it once.
    h.scheduler.setReplicas("train", "failed", {
      exitCode: 2,
      exhausted: true,
      finishedAt: "2026-01-01T12:05:00.000Z",
      message: "exit code 2",
    });
    h.now = new Date("2026-01-01T12:05:10Z");
    expect(await h.reconcile(job)).toEqual({ requeueAfterMs: 20_000 });
    expect(h.scheduler.submitted.map((r) => r.attempt)).toEqual([1]);
    expect(h.events.at(-1)).toBe("Warning RetryBackoff");
    expect(job.status?.conditions?.find((c) => c.type === "Ready")?.message).toBe(
      "replica 0 failed with exit code 2 in attempt 1; attempt 2 starts at 2026-01-01T12:05:30.000Z (retryPolicy.backoff)",
    );
    const writes = h.statusWrites.length;
    h.now = new Date("2026-01-01T12:05:20Z"); // a resync meanwhile: nothing submitted, the status unchanged
    expect(await h.reconcile(job)).toEqual({ requeueAfterMs: 10_000 });
    expect(h.statusWrites.at(-1)).toEqual(h.statusWrites[writes - 1]);
    h.now = new Date("2026-01-01T12:05:30Z");
    await h.reconcile(job);
    expect(h.scheduler.submitted.map((r) => r.attempt)).toEqual([1, 2]);
    expect(job.status?.run?.attempts?.map((a) => [a.attempt, a.completionTime, a.message])).toEqual([
      [1, "2026-01-01T12:05:00.000Z", "replica 0 failed with exit code 2 in attempt 1"],
      [2, undefined, undefined],
    ]);
  });

  it("a failed attempt is submitted again as the next attempt, and status lists every attempt", async () => {
    const h = new Harness();
    const job = trainingJob({ backoffLimit: 1 });
    await h.reconcile(job);
    h.scheduler.setReplicas("train", "failed", {
      exitCode: 2,
      exhausted: true,
      finishedAt: "2026-01-01T12:05:00Z",
    });
    h.now = new Date("2026-01-01T12:06:00Z");
    await h.reconcile(job);
    expect(h.scheduler.submitted.map((r) => r.attempt)).toEqual([1, 2]);
    expect(h.events).toContain("Normal Retried");
    expect(job.status?.phase).toBe("Pending");
    expect(job.status?.run?.attempts).toEqual([
      {
        attempt: 1,
        startTime: "2026-01-01T12:00:00.000Z",
        completionTime: "2026-01-01T12:05:00Z",
        exitCode: 2,
        reason: "Error",
        message: "replica 0 failed with exit code 2 in attempt 1",
        counted: "user",
      },
      { attempt: 2, startTime: "2026-01-01T12:06:00.000Z" },
    ]);
    await h.reconcile(job); // converged: attempt 2 is pending, nothing is submitted again
    expect(h.scheduler.submitted).toHaveLength(2);
    h.scheduler.setReplicas("train", "running");
    await h.reconcile(job);
    expect(job.status?.conditions?.find((c) => c.type === "Ready")?.message).toBe(
      "1 of 1 replica(s) running (attempt 2)",
    );
    h.scheduler.setReplicas("train", "succeeded", { exitCode: 0, finishedAt: "2026-01-01T12:30:00Z" });
    await h.reconcile(job);
    expect(job.status?.phase).toBe("Succeeded");
    expect(job.status?.run?.attempts?.[1]).toEqual({
      attempt: 2,
      startTime: "2026-01-01T12:06:00.000Z",
      completionTime: "2026-01-01T12:30:00Z",
      exitCode: 0,
      reason: "Completed",
    });
    // the second failure would have exceeded backoffLimit 1: the run is failed instead of retried
    const failing = new Harness();
    const again = trainingJob({ backoffLimit: 1 });
    await failing.reconcile(again);
    for (const _ of [1, 2]) {
      failing.scheduler.setReplicas("train", "failed", { exitCode: 2, exhausted: true });
      await failing.reconcile(again);
    }
    expect(failing.scheduler.submitted.map((r) => r.attempt)).toEqual([1, 2]);
    expect(again.status?.phase).toBe("Failed");
    expect(again.status?.run?.attempts?.map((a) => [a.attempt, a.counted])).toEqual([
      [1, "user"],
      [2, "user"],
    ]);
  });

  it("reports the metrics endpoint's health from Consul, and Unknown while Consul is unreachable", async () => {
    const h = new Harness();
    const job = trainingJob({ metrics: { port: 8000, path: "/metrics" } });
    let health: { status: "passing" | "critical"; instances: number; output: string } | undefined = {
      status: "critical",
      instances: 1,
      output: "HTTP GET http://10.0.0.5:8000/metrics: connection refused",
    };
    let lastError: { reason: string; message: string } | undefined;
    h.ctx = {
      ...h.ctx,
      health: {
        health: () => health,
        get lastError() {
          return lastError;
        },
        changes: () => new Subject(),
        close: async () => {},
      },
    };
    await h.reconcile(job);
    h.scheduler.setReplicas("train", "running");
    await h.reconcile(job);
    const metrics = () => job.status?.conditions?.find((c) => c.type === "MetricsHealthy");
    expect(metrics()).toMatchObject({
      status: "False",
      reason: "ChecksCritical",
      message: expect.stringContaining("connection refused"),
    });
    health = { status: "passing", instances: 1, output: "" };
    await h.reconcile(job);
    expect(metrics()).toMatchObject({ status: "True", reason: "ChecksPassing" });
    health = undefined;
    lastError = { reason: "ConsulUnavailable", message: "Consul at http://127.0.0.1:8500 is unreachable" };
    await h.reconcile(job);
    expect(metrics()).toMatchObject({ status: "Unknown", reason: "ConsulUnavailable" });
    expect(job.status?.phase).toBe("Running");
  });

  it("annotates runs on a stack in that stack's Grafana, not the operator-wide one", async () => {
    const h = new Harness({ annotator: true });
    const stackCalls: string[] = [];
    h.ctx = {
      ...h.ctx,
      schedulers: {
        resolve: () => ({
          scheduler: h.scheduler,
          annotator: {
            started: async (run) => {
              stackCalls.push(`started ${run.runId}`);
              return 7;
            },
            finished: async () => {},
          },
        }),
        byTarget: () => h.scheduler,
      },
    };
    const job = trainingJob({});
    await h.reconcile(job);
    expect(stackCalls).toEqual([expect.stringMatching(/^started g1-/)]);
    expect(h.annotator?.calls).toEqual([]);
    expect(job.status?.run?.annotationId).toBe(7);
  });
});

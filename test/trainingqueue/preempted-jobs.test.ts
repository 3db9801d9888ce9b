// Scenario: preemption (spec.preemption LowerPriority) through the job reconciler, the queue gate and
// the recording scheduler double: who is stopped, in which order, what status and attempts say.
import { describe, expect, it } from "vitest";
import { findCondition } from "../../src/api/conditions.ts";
import type { AnyResource, ResourceKey, TrainingJob, TrainingQueue } from "../../src/api/resources.ts";
import { keyOf } from "../../src/api/resources.ts";
import type { TrainingJobContext } from "../../src/trainingjob/context.ts";
import { TrainingJobReconciler } from "../../src/trainingjob/reconciler.ts";
import type { QueueAdmission } from "../../src/trainingqueue/gate.ts";
import { trainingJob } from "../trainingjob/builders.ts";
import { RecordingScheduler } from "../trainingjob/recording-scheduler.ts";
import { queueContext } from "./queue-context.ts";

function queue(name: string, spec: Partial<TrainingQueue["spec"]>): TrainingQueue {
  return {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingQueue",
    metadata: { name, namespace: "default", generation: 1 },
    spec: { admission: "StrictFIFO", preemption: "LowerPriority", ...spec },
  };
}

class World {
  readonly resources = new Map<ResourceKey, AnyResource>();
  readonly scheduler = new RecordingScheduler();
  readonly preemptions: string[] = [];
  readonly woken: ResourceKey[] = [];
  now = new Date("2026-01-01T12:00:00Z");
  readonly jobs = new TrainingJobReconciler();
  readonly gate: QueueAdmission;
  readonly ctx: TrainingJobContext;

  constructor() {
    ({ gate: this.gate, ctx: this.ctx } = queueContext(this.resources, this.scheduler, () => this.now, {
      onPreempted: (q) => this.preemptions.push(q),
    }));
    this.gate.changes().subscribe((key) => this.woken.push(key));
  }

  add<R extends AnyResource>(resource: R): R {
    this.resources.set(keyOf(resource), resource);
    return resource;
  }

  job(name: string, gpus: number, priority: number, extra: Record<string, unknown> = {}): TrainingJob {
    return this.add(
      trainingJob(
        { queue: "gpus", priority, resources: { gpus, cpu: 500, memoryMB: 512 }, ...extra },
        1,
        name,
      ),
    );
  }

  /** Reconciles; a job asking to be looked at again within a second is woken (a controller's requeue). */
  async reconcile(...jobs: TrainingJob[]): Promise<void> {
    for (const job of jobs) {
      const action = await this.jobs.reconcile(job, this.ctx);
      if ("requeueAfterMs" in action && action.requeueAfterMs <= 1_000) this.woken.push(keyOf(job));
    }
  }

  /** Reconciles what the gate woke or requeued (as the controller would), until nothing more is. */
  async settle(): Promise<void> {
    for (let round = 0; round < 10 && this.woken.length > 0; round++) {
      const keys = [...new Set(this.woken.splice(0))];
      for (const key of keys) {
        const job = this.resources.get(key);
        if (job?.kind === "TrainingJob") await this.reconcile(job);
      }
    }
  }

  tick(seconds: number): void {
    this.now = new Date(this.now.getTime() + seconds * 1000);
  }

  started(): string[] {
    return this.scheduler.calls
      .filter((c) => /^(submit|stop) /.test(c))
      .map((c) => c.split(" ", 2).join(" "));
  }
}

const admitted = (job: TrainingJob) => findCondition(job.status?.conditions, "Admitted");

describe("preemption: LowerPriority", () => {
  it("stops a registered run that is not placed yet (Nomad would place it later), as a running one", async () => {
    const w = new World();
    w.add(queue("gpus", { quota: { gpus: 2 } }));
    const low = w.job("low", 2, 20);
    await w.reconcile(low);
    // Registered, no allocation yet: Nomad holds the job in a blocked evaluation until capacity frees.
    const registered = w.scheduler.runs.get("low");
    if (!registered) throw new Error("low was not registered");
    w.scheduler.runs.set("low", {
      ...registered,
      replicas: [],
      blocked: { reason: "MissingDevice", message: "no node offers 2 nvidia/gpu" },
    });
    await w.reconcile(low);
    expect(admitted(low)?.status).toBe("True");
    w.tick(60);

    const high = w.job("high", 2, 90);
    await w.reconcile(high);
    await w.settle();
    // It was let go as if it had ended, its job left registered: high was admitted beside it, and
    // Nomad would have placed both on 2 GPUs' quota once a GPU node came.
    expect(w.started()).toEqual(["submit low", "stop low", "submit high"]);
    expect(low.status?.phase).toBe("Queued");
    expect(admitted(low)).toMatchObject({ status: "False", reason: "Preempted" });
    expect(admitted(high)?.status).toBe("True");
  });

  it("a restarted operator counts a registered run not placed yet as holding its quota", async () => {
    const w = new World();
    w.add(queue("gpus", { quota: { gpus: 2 }, preemption: "Never" }));
    const first = w.job("first", 2, 50);
    await w.reconcile(first);
    const registered = w.scheduler.runs.get("first");
    if (!registered) throw new Error("first was not registered");
    w.scheduler.runs.set("first", { ...registered, replicas: [] });
    const restarted = new World();
    for (const [key, resource] of w.resources) restarted.resources.set(key, resource);
    for (const [name, run] of w.scheduler.runs) restarted.scheduler.runs.set(name, run);
    const second = restarted.job("second", 2, 50);
    await restarted.reconcile(first);
    await restarted.reconcile(second);
    expect(restarted.started()).toEqual([]);
    expect(admitted(second)).toMatchObject({ status: "False", reason: "WaitingForQuota" });
  });

  it("stops a lower-priority run for a higher one, then admits it again as its next attempt", async () => {
    const w = new World();
    w.add(queue("gpus", { quota: { gpus: 4 } }));
    const old = w.job("old", 2, 50);
    const low = w.job("low", 2, 20, { backoffLimit: 0, retryPolicy: { infraRetryLimit: 1 } });
    await w.reconcile(old);
    w.tick(1);
    await w.reconcile(low);
    w.scheduler.setReplicas("old", "running");
    w.scheduler.setReplicas("low", "running");
    await w.reconcile(old, low);
    w.tick(60);

    const high = w.job("high", 2, 90);
    w.woken.length = 0;
    await w.reconcile(high);
    expect(high.status?.phase).toBe("Queued");
    expect(w.woken).toContain("TrainingJob/default/low");
    expect(w.woken).not.toContain("TrainingJob/default/old");
    await w.settle();

    expect(w.started()).toEqual(["submit old", "submit low", "stop low", "submit high"]);
    expect(w.scheduler.calls).toContain("stop low preempted");
    expect(w.preemptions).toEqual(["default/gpus"]);
    expect(low.status?.phase).toBe("Queued");
    expect(admitted(low)).toMatchObject({ status: "False", reason: "Preempted" });
    expect(admitted(low)?.message).toMatch(/^attempt 1 was preempted for default\/high; position 1 in queue/);
    expect(low.status?.queue).toMatchObject({ name: "gpus", position: 1 });
    expect(low.status?.queue?.admittedAt).toBeUndefined();
    expect(low.status?.run?.attempts).toEqual([
      expect.objectContaining({
        attempt: 1,
        reason: "Preempted",
        counted: "infra",
        preemptedBy: "default/high",
      }),
    ]);
    expect(low.status?.run?.attempts?.[0]?.message).toBe(
      "attempt 1: preempted for default/high (priority 90) of queue default/gpus; admitted again when quota is free",
    );
    expect(admitted(high)?.status).toBe("True");
    expect(old.status?.phase).toBe("Running");

    // The high run finishes: the preempted one is admitted again as attempt 2.
    w.scheduler.setReplicas("high", "succeeded", { exitCode: 0 });
    await w.reconcile(high);
    await w.settle();
    expect(w.started()).toEqual(["submit old", "submit low", "stop low", "submit high", "submit low"]);
    expect(w.scheduler.submitted.at(-1)?.attempt).toBe(2);
    expect(admitted(low)?.status).toBe("True");

    // Attempt 2 loses its node: infraRetryLimit 1 still allows a retry (the preemption was not charged).
    w.scheduler.setReplicas("low", "failed", { reason: "NodeLost", exhausted: true });
    await w.reconcile(low);
    expect(w.scheduler.submitted.at(-1)?.attempt).toBe(3);
    w.scheduler.setReplicas("low", "succeeded", { exitCode: 0 });
    await w.reconcile(low);
    expect(low.status?.phase).toBe("Succeeded");
    expect(low.status?.run?.attempts?.map((a) => [a.attempt, a.reason, a.counted])).toEqual([
      [1, "Preempted", "infra"],
      [2, "NodeLost", "infra"],
      [3, "Completed", undefined],
    ]);
  });

  it("a preempted run's activeDeadlineSeconds counts again from its admission, not across its wait", async () => {
    const w = new World();
    w.add(queue("gpus", { quota: { gpus: 2 } }));
    const low = w.job("low", 2, 10, { activeDeadlineSeconds: 120 });
    await w.reconcile(low);
    w.scheduler.setReplicas("low", "running");
    await w.reconcile(low);
    w.tick(100); // 100 of its 120 s used
    const high = w.job("high", 2, 90);
    await w.reconcile(high);
    await w.settle();
    w.scheduler.setReplicas("low", "failed", { exhausted: false, reason: "Stopped" });
    await w.reconcile(low);
    await w.settle();
    expect(w.started()).toEqual(["submit low", "stop low", "submit high"]);

    w.tick(600); // waits ten minutes behind the high run
    await w.reconcile(low);
    expect(low.status?.phase).toBe("Queued");
    w.scheduler.setReplicas("high", "succeeded", { exitCode: 0 });
    await w.reconcile(high);
    await w.settle();
    expect(w.started()).toEqual(["submit low", "stop low", "submit high", "submit low"]);
    w.scheduler.setReplicas("low", "running");
    w.tick(100);
    await w.reconcile(low);
    expect(low.status?.phase).toBe("Running"); // 100 s since admitted again, not 800 s since its start

    w.tick(21);
    await w.reconcile(low);
    expect(low.status?.phase).toBe("Failed");
    expect(low.status?.run?.reason).toBe("DeadlineExceeded");
  });

  it("never preempts for an equal priority, for a run that can never fit, or in a queue that does not preempt", async () => {
    for (const [name, spec, gpus, priority] of [
      ["equal", { quota: { gpus: 2 } }, 2, 50],
      ["too big", { quota: { gpus: 2 } }, 3, 90],
      ["Never", { quota: { gpus: 2 }, preemption: "Never" as const }, 2, 90],
    ] as const) {
      const w = new World();
      w.add(queue("gpus", spec));
      const running = w.job("running", 2, 50);
      await w.reconcile(running);
      w.scheduler.setReplicas("running", "running");
      const late = w.job("late", gpus, priority);
      await w.reconcile(late);
      await w.settle();
      await w.reconcile(running);
      expect(w.started(), name).toEqual(["submit running"]);
      expect(w.preemptions, name).toEqual([]);
      expect(running.status?.phase, name).toBe("Running");
    }
  });

  it("a stopped run keeps its quota until the scheduler reports its replicas ended", async () => {
    const w = new World();
    w.add(queue("gpus", { quota: { gpus: 2 } }));
    const low = w.job("low", 2, 10);
    await w.reconcile(low);
    w.scheduler.setReplicas("low", "running");
    await w.reconcile(low);
    const high = w.job("high", 2, 90);
    await w.reconcile(high);
    w.woken.length = 0;
    await w.reconcile(low);
    expect(w.scheduler.calls).toContain("stop low preempted");
    // Nomad has deregistered the job; its allocation is still running for a moment.
    w.scheduler.setReplicas("low", "running");
    await w.reconcile(low, high);
    expect(admitted(low)).toMatchObject({ reason: "Preempted", message: expect.stringMatching(/stopping/) });
    expect(high.status?.phase).toBe("Queued");
    expect(w.started()).toEqual(["submit low", "stop low"]);

    w.scheduler.setReplicas("low", "failed", { exhausted: false, reason: "Stopped" });
    await w.reconcile(low);
    await w.settle();
    expect(w.started()).toEqual(["submit low", "stop low", "submit high"]);
    expect(admitted(low)).toMatchObject({ reason: "Preempted" });
    expect(low.status?.run?.attempts?.map((a) => [a.attempt, a.reason])).toEqual([[1, "Preempted"]]);
  });

  it("preempts only as much as needed: one run of two when one makes room", async () => {
    const w = new World();
    w.add(queue("gpus", { quota: { gpus: 4 } }));
    const a = w.job("a", 2, 10);
    const b = w.job("b", 2, 10);
    await w.reconcile(a);
    w.tick(1);
    await w.reconcile(b);
    w.scheduler.setReplicas("a", "running");
    w.scheduler.setReplicas("b", "running");
    await w.reconcile(a, b);
    await w.reconcile(w.job("high", 2, 90));
    await w.settle();
    expect(w.started()).toEqual(["submit a", "submit b", "stop b", "submit high"]);
    expect(a.status?.phase).toBe("Running");
  });

  it("a run chosen but not yet registered gives up its admission without a stop", async () => {
    const w = new World();
    w.add(queue("gpus", { quota: { gpus: 2 } }));
    const low = w.job("low", 2, 10);
    // Admitted (the gate holds it) but not reconciled since: nothing of it runs.
    expect(w.gate.admit(low, w.now).admitted).toBe(true);
    const high = w.job("high", 2, 90);
    await w.reconcile(high);
    await w.settle();
    expect(w.started()).toEqual(["submit high"]);
    expect(low.status?.phase).toBe("Queued");
    expect(admitted(low)?.reason).toBe("WaitingForQuota");
  });

  it("cohort: a lower-priority borrower of another queue is preempted to reclaim the lent quota", async () => {
    const w = new World();
    w.add(queue("gpus", { quota: { gpus: 2 }, cohort: "lab" }));
    w.add(queue("other", { quota: { gpus: 2 }, cohort: "lab", preemption: "Never" }));
    const own = w.job("own", 2, 10, { queue: "other" });
    const borrower = w.job("borrower", 2, 10, { queue: "other" });
    await w.reconcile(own);
    w.tick(1);
    await w.reconcile(borrower);
    w.scheduler.setReplicas("own", "running");
    w.scheduler.setReplicas("borrower", "running");
    await w.reconcile(own, borrower);
    const high = w.job("high", 2, 90);
    await w.reconcile(high);
    await w.settle();
    expect(w.started()).toEqual(["submit own", "submit borrower", "stop borrower", "submit high"]);
    expect(w.preemptions).toEqual(["default/other"]);
    expect(admitted(borrower)?.reason).toBe("Preempted");
  });
});

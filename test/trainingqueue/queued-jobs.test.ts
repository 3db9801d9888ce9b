// Scenario: TrainingJobs naming a TrainingQueue, through the job reconciler, the queue gate and the
// recording scheduler double: what is registered, in which order, and what status says.
import { describe, expect, it } from "vitest";
import { findCondition } from "../../src/api/conditions.ts";
import { TransientError } from "../../src/api/errors.ts";
import type { AnyResource, ResourceKey, TrainingJob, TrainingQueue } from "../../src/api/resources.ts";
import { keyOf } from "../../src/api/resources.ts";
import { TrainingJobReconciler } from "../../src/trainingjob/reconciler.ts";
import { TrainingQueueReconciler } from "../../src/trainingqueue/reconciler.ts";
import { trainingJob } from "../trainingjob/builders.ts";
import { RecordingScheduler } from "../trainingjob/recording-scheduler.ts";
import { queueContext } from "./queue-context.ts";

function queue(spec: Partial<TrainingQueue["spec"]> = {}, name = "gpus"): TrainingQueue {
  return {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingQueue",
    metadata: { name, namespace: "default", generation: 1 },
    spec: { admission: "StrictFIFO", preemption: "Never", ...spec },
  };
}

/** An operator process: its own gate and reconciler over shared resources and one scheduler. */
class World {
  readonly resources = new Map<ResourceKey, AnyResource>();
  readonly scheduler = new RecordingScheduler();
  now = new Date("2026-01-01T12:00:00Z");
  process = this.#start();

  #start() {
    const { gate, ctx } = queueContext(this.resources, this.scheduler, () => this.now);
    const woken: ResourceKey[] = [];
    gate.changes().subscribe((key) => woken.push(key));
    const moved: ResourceKey[] = [];
    gate.backgroundChanges().subscribe((key) => moved.push(key));
    return {
      gate,
      ctx,
      woken,
      moved,
      jobs: new TrainingJobReconciler(),
      queues: new TrainingQueueReconciler(),
    };
  }

  /** The operator restarts: nothing in memory survives; statuses and the scheduler's runs do. */
  restart(): void {
    this.process = this.#start();
  }

  add<R extends AnyResource>(resource: R): R {
    this.resources.set(keyOf(resource), resource);
    return resource;
  }

  job(name: string, gpus: number, extra: Record<string, unknown> = {}): TrainingJob {
    return this.add(
      trainingJob({ queue: "gpus", resources: { gpus, cpu: 500, memoryMB: 512 }, ...extra }, 1, name),
    );
  }

  reconcile(job: TrainingJob) {
    return this.process.jobs.reconcile(job, this.process.ctx);
  }

  submitted(): string[] {
    return this.scheduler.calls.filter((c) => c.startsWith("submit")).map((c) => c.split(" ")[1] as string);
  }
}

const admitted = (job: TrainingJob) => findCondition(job.status?.conditions, "Admitted");

/** a (2 GPUs of 2) has failed at 12:00 and its retry waits 30 s (retryPolicy.backoff); b waits for the quota. */
async function retryWaiting() {
  const w = new World();
  w.add(queue({ quota: { gpus: 2 } }));
  const backoff = { delaySeconds: 30, factor: 2, maxDelaySeconds: 360 };
  const a = w.job("a", 2, { backoffLimit: 1, retryPolicy: { infraRetryLimit: 3, backoff } });
  const b = w.job("b", 2);
  await w.reconcile(a);
  await w.reconcile(b);
  w.scheduler.setReplicas("a", "failed", { exitCode: 1, exhausted: true, finishedAt: w.now.toISOString() });
  w.now = new Date("2026-01-01T12:00:10Z");
  await w.reconcile(a);
  return { w, a, b };
}

describe("queued TrainingJobs", () => {
  it("registers a run only once admitted; Queued with a reason and a position while it waits", async () => {
    const w = new World();
    w.add(queue({ quota: { gpus: 2 } }));
    const a = w.job("a", 2);
    const b = w.job("b", 1);
    const huge = w.job("huge", 3);
    const lost = w.job("lost", 1, { queue: "nope" });
    for (const job of [a, b, huge, lost]) await w.reconcile(job);

    expect(w.submitted()).toEqual(["a"]);
    expect(a.status?.phase).toBe("Pending");
    expect(admitted(a)).toMatchObject({ status: "True", reason: "Admitted" });
    expect(a.status?.queue).toEqual({
      name: "gpus",
      queuedAt: w.now.toISOString(),
      admittedAt: w.now.toISOString(),
    });
    expect(b.status?.phase).toBe("Queued");
    expect(admitted(b)).toMatchObject({ status: "False", reason: "WaitingForQuota" });
    expect(b.status?.queue).toMatchObject({ name: "gpus", position: 1 });
    expect(findCondition(b.status?.conditions, "Ready")).toMatchObject({
      status: "False",
      reason: "WaitingForQuota",
    });
    expect(huge.status?.phase).toBe("Queued");
    expect(admitted(huge)).toMatchObject({ status: "False", reason: "QuotaExceeded" });
    expect(huge.status?.queue?.position).toBeUndefined();
    expect(admitted(lost)).toMatchObject({ status: "False", reason: "QueueNotFound" });

    // Reconciling again admits nothing twice and registers nothing new.
    for (const job of [a, b, huge]) await w.reconcile(job);
    expect(w.submitted()).toEqual(["a"]);
  });

  it("a finished run releases its quota and wakes the next run, which is then admitted", async () => {
    const w = new World();
    w.add(queue({ quota: { gpus: 2 } }));
    const a = w.job("a", 2);
    const b = w.job("b", 2);
    await w.reconcile(a);
    await w.reconcile(b);
    expect(b.status?.phase).toBe("Queued");
    w.scheduler.setReplicas("a", "succeeded", { exitCode: 0 });
    w.process.woken.length = 0;
    await w.reconcile(a);
    expect(a.status?.phase).toBe("Succeeded");
    expect(w.process.woken).toContain("TrainingJob/default/b");
    await w.reconcile(b);
    expect(w.submitted()).toEqual(["a", "b"]);
    expect(admitted(b)?.status).toBe("True");
    // Admitted by a's release, not by its own ask: its status says when all the same.
    expect(b.status?.queue).toMatchObject({ name: "gpus", admittedAt: w.now.toISOString() });
  });

  it("a failed run waiting for its retry (retryPolicy.backoff) keeps its quota; the retry needs no new admission", async () => {
    const { w, a, b } = await retryWaiting();
    await w.reconcile(b);
    expect(findCondition(a.status?.conditions, "Ready")?.reason).toBe("RetryBackoff");
    expect(admitted(a)?.status).toBe("True");
    expect(b.status?.phase).toBe("Queued");
    expect(w.submitted()).toEqual(["a"]);
    w.now = new Date("2026-01-01T12:00:30Z");
    await w.reconcile(a);
    expect(w.submitted()).toEqual(["a", "a"]);
    expect(a.status?.run?.attempts?.map((x) => x.attempt)).toEqual([1, 2]);
    expect(admitted(a)?.status).toBe("True");
    await w.reconcile(b);
    expect(b.status?.phase).toBe("Queued");
  });

  it("an operator restarted while a run waits for its retry: the run keeps its quota, the next one still waits", async () => {
    const { w, a, b } = await retryWaiting();
    w.restart();
    for (const job of [b, a, b]) await w.reconcile(job);
    w.now = new Date("2026-01-01T12:00:30Z");
    for (const job of [a, b]) await w.reconcile(job);
    // a's recorded admission counts after the restart: it keeps the quota, its retry needs no new
    // admission, and b still waits.
    expect(w.submitted()).toEqual(["a", "a"]);
    expect(admitted(a)?.status).toBe("True");
    expect(b.status?.phase).toBe("Queued");
  });

  it("waiting jobs whose position moved are reported, and their next reconcile writes it", async () => {
    const w = new World();
    w.add(queue({ quota: { runs: 1 } }));
    const [a, b, c, d] = ["a", "b", "c", "d"].map((name) => w.job(name, 0));
    for (const job of [a, b, c, d]) await w.reconcile(job as TrainingJob);
    const positions = () => [b, c, d].map((job) => job?.status?.queue?.position);
    expect(positions()).toEqual([1, 2, 3]);
    // The jobs not written yet when a was admitted were reported; the rest is written now.
    const moved = w.process.moved;
    expect(new Set(moved)).toEqual(
      new Set(["TrainingJob/default/b", "TrainingJob/default/c", "TrainingJob/default/d"]),
    );
    moved.length = 0;
    for (const job of [b, c, d]) await w.reconcile(job as TrainingJob);
    expect(moved).toEqual([]);

    // a finishes: b is admitted (woken), c and d each move up one (reported, not woken).
    w.scheduler.setReplicas("a", "succeeded", { exitCode: 0 });
    await w.reconcile(a as TrainingJob);
    expect(w.process.woken).toContain("TrainingJob/default/b");
    expect(new Set(moved)).toEqual(new Set(["TrainingJob/default/c", "TrainingJob/default/d"]));
    expect(positions()).toEqual([1, 2, 3]); // as written before
    await w.reconcile(b as TrainingJob);
    for (const key of new Set(moved)) await w.reconcile(w.resources.get(key) as TrainingJob);
    expect(positions()).toEqual([undefined, 1, 2]);
    expect(admitted(c as TrainingJob)?.message).toContain("position 1 in queue");

    // Written: reconciling the waiting jobs again reports nothing more.
    moved.length = 0;
    for (const job of [c, d]) await w.reconcile(job as TrainingJob);
    expect(moved).toEqual([]);

    // A higher-priority arrival moves both back; they are reported.
    const urgent = w.job("urgent", 0, { priority: 90 });
    await w.reconcile(urgent);
    expect(urgent.status?.queue?.position).toBe(1);
    expect(new Set(moved)).toEqual(new Set(["TrainingJob/default/c", "TrainingJob/default/d"]));
  });

  it("a job reported as moved is not reported again until its reconcile has asked for admission", async () => {
    const w = new World();
    w.add(queue({ quota: { runs: 1 } }));
    const [a, b, c, d] = ["a", "b", "c", "d"].map((name) => w.job(name, 0)) as [
      TrainingJob,
      TrainingJob,
      TrainingJob,
      TrainingJob,
    ];
    for (const job of [a, b, c, d, b, c, d]) await w.reconcile(job);
    const moved = w.process.moved;
    moved.length = 0;
    const finish = async (job: TrainingJob) => {
      w.scheduler.setReplicas(job.metadata.name, "succeeded", { exitCode: 0 });
      await w.reconcile(job);
    };
    await finish(a); // b admitted; c and d move up one: reported
    expect([...moved].sort()).toEqual(["TrainingJob/default/c", "TrainingJob/default/d"]);
    await w.reconcile(b); // registered
    await w.reconcile(c); // asks: at position 1 now
    moved.length = 0;
    await finish(b); // c admitted; d moves up again, but its reconcile (queued) has not asked yet
    expect(moved).toEqual([]);
    await w.reconcile(d);
    expect(d.status?.queue?.position).toBe(1); // the position as it is when it asks
    const urgent = w.job("urgent", 0, { priority: 90 });
    await w.reconcile(urgent); // asked since: a move is reported again
    expect(moved).toEqual(["TrainingJob/default/d"]);
  });

  it("an admitted run the scheduler refuses still says it holds its queue's quota", async () => {
    const w = new World();
    w.add(queue({ quota: { gpus: 2 } }));
    const a = w.job("a", 2);
    const b = w.job("b", 1);
    w.scheduler.refuseSubmit = new TransientError("NamespaceNotFound", 'namespace "lab" not found');
    await expect(w.reconcile(a)).rejects.toThrow('namespace "lab" not found');
    await w.reconcile(b);
    expect(findCondition(a.status?.conditions, "Ready")).toMatchObject({ reason: "NamespaceNotFound" });
    expect(a.status?.phase).toBe("Pending");
    expect(admitted(a)).toMatchObject({ status: "True", reason: "Admitted" });
    expect(a.status?.queue).toMatchObject({ name: "gpus", admittedAt: w.now.toISOString() });
    expect(admitted(b)).toMatchObject({ status: "False", reason: "WaitingForQuota" });
  });

  it("a new queue wakes the jobs waiting for it and its cohort in the background; a changed one every waiting job at once", async () => {
    const w = new World();
    const gpus = w.add(queue({ quota: { runs: 0 }, cohort: "lab" }));
    w.add(queue({ quota: { runs: 0 } }, "cpus"));
    const early = w.job("early", 0); // waits in gpus
    const other = w.job("other", 0, { queue: "cpus" });
    const late = w.job("late", 0, { queue: "later" }); // QueueNotFound for now
    for (const job of [early, other, late]) await w.reconcile(job);
    expect(admitted(late)?.reason).toBe("QueueNotFound");
    const { woken, moved } = w.process;
    const ctx = { ...w.process.ctx, queues: w.process.gate };
    const reconcileQueue = async (q: TrainingQueue) => {
      woken.length = 0;
      moved.length = 0;
      await w.process.queues.reconcile(q, ctx);
      const jobs = (keys: string[]) => keys.filter((k) => k.startsWith("TrainingJob/")).sort();
      return { now: jobs(woken), background: jobs(moved) };
    };
    // At its first reconcile (as at start-up), a queue wakes its cohort's waiting jobs only, in the background.
    expect(await reconcileQueue(gpus)).toEqual({ now: [], background: ["TrainingJob/default/early"] });
    // A queue's reconcile also admits what fits: early (first seen) borrows the new queue's unused
    // quota at once, without waiting for a reconcile of its own.
    const later = w.add(queue({ quota: { runs: 1 }, cohort: "lab" }, "later"));
    const woke = await reconcileQueue(later);
    expect(woke.now).toEqual(["TrainingJob/default/early"]);
    expect(new Set(woke.background)).toEqual(
      new Set(["TrainingJob/default/early", "TrainingJob/default/late"]),
    );
    expect(w.process.gate.holds(keyOf(early))).toBe(true);
    await w.reconcile(late);
    expect(admitted(late)?.reason).not.toBe("QueueNotFound");
    // An edit (a new generation) may concern any queue's jobs (it may have left a cohort): at once.
    gpus.metadata.generation = 2;
    const waiting = [early, other, late]
      .filter((job) => !w.process.gate.holds(keyOf(job)))
      .map((job) => keyOf(job))
      .sort();
    expect(waiting).toContain("TrainingJob/default/other");
    expect((await reconcileQueue(gpus)).now).toEqual(waiting);
  });

  it("suspending a running run releases its quota; a deleted one too", async () => {
    const w = new World();
    w.add(queue({ quota: { runs: 1 } }));
    const a = w.job("a", 0);
    const b = w.job("b", 0);
    const c = w.job("c", 0);
    await w.reconcile(a);
    await w.reconcile(b);
    expect(w.submitted()).toEqual(["a"]);
    a.spec.suspend = true;
    a.metadata.generation = 2;
    await w.reconcile(a);
    await w.reconcile(b);
    expect(w.submitted()).toEqual(["a", "b"]);
    await w.reconcile(c);
    expect(c.status?.phase).toBe("Queued");
    w.resources.delete(keyOf(b));
    await w.process.jobs.finalize(keyOf(b), b, w.process.ctx);
    await w.reconcile(c);
    expect(w.submitted()).toEqual(["a", "b", "c"]);
  });

  it("a queued job that is suspended holds nothing and is not Admitted; resumed, it queues again", async () => {
    const w = new World();
    w.add(queue({ quota: { runs: 1 } }));
    const a = w.job("a", 0);
    const b = w.job("b", 0);
    await w.reconcile(a);
    await w.reconcile(b);
    b.spec.suspend = true;
    b.metadata.generation = 2;
    await w.reconcile(b);
    expect(b.status?.phase).toBe("Suspended");
    expect(admitted(b)).toBeUndefined();
    expect(b.status?.queue?.admittedAt).toBeUndefined();
    b.spec.suspend = false;
    b.metadata.generation = 3;
    await w.reconcile(b);
    expect(b.status?.phase).toBe("Queued");
    expect(w.submitted()).toEqual(["a"]);
  });

  it("StrictFIFO: a higher-priority run that waits is not passed by a smaller lower-priority one", async () => {
    const w = new World();
    w.add(queue({ quota: { gpus: 4 } }));
    const a = w.job("a", 3);
    await w.reconcile(a);
    const big = w.job("big", 2, { priority: 90 });
    const small = w.job("small", 1, { priority: 10 });
    await w.reconcile(small);
    await w.reconcile(big);
    expect(w.submitted()).toEqual(["a"]);
    expect(big.status?.queue?.position).toBe(1);
    await w.reconcile(small);
    expect(small.status?.queue?.position).toBe(2);
  });

  it("after a restart, usage is counted from the registered runs before anything is admitted", async () => {
    const w = new World();
    w.add(queue({ quota: { gpus: 2 } }));
    const a = w.job("a", 2);
    await w.reconcile(a);
    w.scheduler.setReplicas("a", "running");
    await w.reconcile(a);
    expect(a.status?.phase).toBe("Running");

    w.restart();
    const b = w.job("b", 1);
    await w.reconcile(b); // before a was looked at again: a's admission in status counts
    expect(b.status?.phase).toBe("Queued");
    await w.reconcile(a); // the scheduler reports a registered: it holds its quota
    await w.reconcile(b);
    expect(w.submitted()).toEqual(["a"]);
    w.scheduler.setReplicas("a", "succeeded", { exitCode: 0 });
    await w.reconcile(a);
    await w.reconcile(b);
    expect(w.submitted()).toEqual(["a", "b"]);
  });

  it("the queue's status counts usage, pending and admitted runs", async () => {
    const w = new World();
    const q = w.add(queue({ quota: { gpus: 2, runs: 5 } }));
    await w.reconcile(w.job("a", 2));
    await w.reconcile(w.job("b", 1));
    await w.process.queues.reconcile(q, { ...w.process.ctx, queues: w.process.gate });
    expect(q.status).toMatchObject({
      quota: { gpus: 2, runs: 5 },
      usage: { gpus: 2, runs: 1 },
      pending: 1,
      admitted: 1,
    });
    expect(findCondition(q.status?.conditions, "Ready")).toMatchObject({
      status: "True",
      reason: "Admitting",
    });
  });

  it("a queue's reconcile admits what fits before its jobs are looked at, and again when its quota grows", async () => {
    const w = new World();
    const q = w.add(queue({ quota: { runs: 1 } }));
    const low = w.job("low", 0, { priority: 10 });
    const high = w.job("high", 0, { priority: 90 });
    const next = w.job("next", 0, { priority: 50 });
    const admissions: ResourceKey[] = [];
    w.process.gate.admissions().subscribe((key) => admissions.push(key));
    const reconcileQueue = () => w.process.queues.reconcile(q, { ...w.process.ctx, queues: w.process.gate });
    // As at start-up: no job reconciled yet. The head of the queue (by priority) is admitted, and
    // the queue's status counts it.
    await reconcileQueue();
    expect(admissions).toEqual([keyOf(high)]);
    expect(q.status).toMatchObject({ admitted: 1, pending: 2 });
    await w.reconcile(high);
    expect(w.submitted()).toEqual(["high"]);
    expect(high.status?.queue?.admittedAt).toBe(w.now.toISOString());
    // Reconciled again with nothing changed: nothing more is admitted.
    await reconcileQueue();
    expect(admissions).toEqual([keyOf(high)]);
    // Its quota grows (a new generation): the next run is admitted by the queue's reconcile.
    q.spec.quota = { runs: 2 };
    q.metadata.generation = 2;
    await reconcileQueue();
    expect(admissions).toEqual([keyOf(high), keyOf(next)]);
    expect(q.status).toMatchObject({ admitted: 2, pending: 1 });
    await w.reconcile(next);
    await w.reconcile(low);
    expect(w.submitted()).toEqual(["high", "next"]);
    expect(low.status?.phase).toBe("Queued");
  });

  it("a job without spec.queue is never queued", async () => {
    const w = new World();
    const plain = w.add(trainingJob({ resources: { gpus: 8, cpu: 500, memoryMB: 512 } }, 1, "plain"));
    await w.reconcile(plain);
    expect(w.submitted()).toEqual(["plain"]);
    expect(plain.status?.queue).toBeUndefined();
    expect(admitted(plain)).toBeUndefined();
  });
});

// Queue arrival and admission times in shared operator state (directory mode with --leader-elect,
// where each replica has its own state directory): the leader records them as statuses are written;
// a new leader reads them and writes them into its own statuses before it admits anything, and the
// admission gate then orders the queue by them, not by the order jobs happen to be looked at.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AnyResource,
  type Kind,
  keyOf,
  type ResourceKey,
  type TrainingJob,
  type TrainingJobStatus,
  type TrainingQueue,
} from "../../src/api/resources.ts";
import type { SharedState } from "../../src/api/shared-state.ts";
import { FileSharedState } from "../../src/sources/state/shared-file.ts";
import { QueueAdmission } from "../../src/trainingqueue/gate.ts";
import { QueueTimes } from "../../src/trainingqueue/times.ts";

let root = "";
let n = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "mlops-queue-times-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const shared = (): SharedState => new FileSharedState(join(root, `s${++n}`));

const queue: TrainingQueue = {
  apiVersion: "mlops.dev/v1alpha1",
  kind: "TrainingQueue",
  metadata: { name: "gpus", namespace: "ml", generation: 1 },
  spec: { quota: { runs: 1 }, admission: "StrictFIFO", preemption: "Never" },
};

function job(name: string, status?: TrainingJobStatus): TrainingJob {
  return {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingJob",
    metadata: { name, namespace: "ml", generation: 1 },
    spec: { image: "x", queue: "gpus", replicas: 1, resources: { cpu: 100, memoryMB: 64 } },
    ...(status ? { status } : {}),
  } as TrainingJob;
}

/** A replica's view: the declared resources with the statuses of its own state directory. */
function index(resources: AnyResource[]) {
  const map = new Map<ResourceKey, AnyResource>(resources.map((r) => [keyOf(r), r]));
  return {
    map,
    get: (key: ResourceKey) => map.get(key),
    list: (kind: Kind) => [...map.values()].filter((r) => r.kind === kind),
    write: async (resource: TrainingJob, status: TrainingJobStatus) => {
      map.set(keyOf(resource), { ...resource, status });
    },
  };
}

const queued = (at: string, admittedAt?: string): TrainingJobStatus => ({
  phase: "Queued",
  queue: { name: "gpus", queuedAt: at, ...(admittedAt ? { admittedAt } : {}) },
});

describe("QueueTimes", () => {
  it("records a job's times as its status is written, and drops them when it finishes or leaves", async () => {
    const times = new QueueTimes(shared());
    await times.written(job("b"), queued("2026-05-01T12:00:01Z"));
    await times.written(job("b"), queued("2026-05-01T12:00:01Z", "2026-05-01T12:05:00Z"));
    await times.written(job("a"), queued("2026-05-01T12:00:02Z"));
    expect(Object.fromEntries(await times.times("ml", "gpus"))).toEqual({
      b: { queuedAt: "2026-05-01T12:00:01Z", admittedAt: "2026-05-01T12:05:00Z" },
      a: { queuedAt: "2026-05-01T12:00:02Z" },
    });
    await times.written(job("b"), { ...queued("2026-05-01T12:00:01Z"), phase: "Succeeded" });
    const left = { ...job("a"), spec: { ...job("a").spec, queue: undefined } } as unknown as TrainingJob;
    await times.written(left, { phase: "Pending" });
    expect(Object.fromEntries(await times.times("ml", "gpus"))).toEqual({});
  });

  it("a new leader's gate admits in the recorded arrival order, not by name or by when it looks", async () => {
    const state = shared();
    // The old leader queued c, then a, then b (names out of order on purpose); c runs.
    const old = new QueueTimes(state);
    await old.written(job("c"), queued("2026-05-01T12:00:01Z", "2026-05-01T12:00:01Z"));
    await old.written(job("a"), queued("2026-05-01T12:00:02Z"));
    await old.written(job("b"), queued("2026-05-01T12:00:03Z"));
    await old.written(job("z"), queued("2026-05-01T12:00:00Z"));
    await old.written(job("z"), {
      phase: "Succeeded",
      queue: { name: "gpus", queuedAt: "2026-05-01T12:00:00Z" },
    });

    // The new leader's own state directory knows nothing of them.
    const view = index([queue, job("a"), job("b"), job("c")]);
    const restored = await new QueueTimes(state).restore(view, view.write);
    expect(restored).toBe(3);
    const statusOf = (name: string) =>
      (view.map.get(`TrainingJob/ml/${name}` as ResourceKey) as TrainingJob).status;
    expect(statusOf("a")?.queue).toEqual({ name: "gpus", queuedAt: "2026-05-01T12:00:02Z" });
    expect(statusOf("c")?.queue?.admittedAt).toBe("2026-05-01T12:00:01Z");

    // c still holds the one run (admitted, unfinished): nothing is admitted over it.
    const gate = new QueueAdmission(view);
    const now = new Date("2026-05-01T13:00:00Z");
    expect(gate.admit(view.get("TrainingJob/ml/b" as ResourceKey) as never, now)).toMatchObject({
      admitted: false,
    });
    expect(gate.admit(view.get("TrainingJob/ml/a" as ResourceKey) as never, now)).toMatchObject({
      admitted: false,
      position: 1,
    });
    // c finishes: a (queued before b) is next.
    gate.release("TrainingJob/ml/c" as ResourceKey);
    expect(gate.holds("TrainingJob/ml/a" as ResourceKey)).toBe(true);
    expect(gate.holds("TrainingJob/ml/b" as ResourceKey)).toBe(false);
  });

  it("without the record, the same new leader would admit b first (the order it looked at them)", async () => {
    const view = index([queue, job("a"), job("b"), job("c", { phase: "Running" })]);
    const gate = new QueueAdmission(view);
    gate.hold(job("c"));
    gate.admit(job("b"), new Date("2026-05-01T13:00:00Z"));
    gate.admit(job("a"), new Date("2026-05-01T13:00:01Z"));
    gate.release("TrainingJob/ml/c" as ResourceKey);
    expect(gate.holds("TrainingJob/ml/b" as ResourceKey)).toBe(true);
  });
});

// Usage from the scheduler before anything is admitted: a queued run registered just before a crash
// or failover (its status never recorded the admission) holds its quota from the start.
import { describe, expect, it } from "vitest";
import {
  type AnyResource,
  type Kind,
  keyOf,
  type ResourceKey,
  type TrainingJob,
  type TrainingQueue,
} from "../../src/api/resources.ts";
import type { ObservedRun, Scheduler } from "../../src/scheduler/port.ts";
import { QueueAdmission } from "../../src/trainingqueue/gate.ts";
import { holdRegisteredRuns } from "../../src/trainingqueue/registered.ts";

const queue: TrainingQueue = {
  apiVersion: "mlops.dev/v1alpha1",
  kind: "TrainingQueue",
  metadata: { name: "gpus", namespace: "ml", generation: 1 },
  spec: { quota: { runs: 1 }, admission: "StrictFIFO", preemption: "Never" },
};

const job = (name: string, queuedAt: string): TrainingJob =>
  ({
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingJob",
    metadata: { name, namespace: "ml", generation: 1 },
    spec: { image: "x", queue: "gpus", replicas: 1, resources: { cpu: 100, memoryMB: 64 } },
    status: { phase: "Queued", queue: { name: "gpus", queuedAt } },
  }) as TrainingJob;

function index(resources: AnyResource[]) {
  const map = new Map<ResourceKey, AnyResource>(resources.map((r) => [keyOf(r), r]));
  return {
    get: (key: ResourceKey) => map.get(key),
    list: (kind: Kind) => [...map.values()].filter((r) => r.kind === kind),
  };
}

/** Each named run's one replica in that state; "unplaced": registered, no allocation yet. */
function scheduler(
  live: Record<string, ObservedRun["replicas"][number]["state"] | "unplaced">,
  fail = false,
): Scheduler {
  return {
    name: "nomad",
    target: "http://nomad.test:4646",
    listOwned: async () => {
      if (fail) throw new Error("connection refused");
      return Object.keys(live).map((name) => ({ key: `TrainingJob/ml/${name}` as ResourceKey, runId: "r" }));
    },
    observe: async (key: { name: string }) =>
      ({
        stopped: false,
        replicas:
          live[key.name] === "unplaced" ? [] : [{ index: 0, id: "1", state: live[key.name], restarts: 0 }],
      }) as unknown as ObservedRun,
  } as unknown as Scheduler;
}

// "late" queued after "early", but registered (the old operator admitted it, then died before its status said so).
const resources = () =>
  index([queue, job("early", "2026-05-01T12:00:01Z"), job("late", "2026-05-01T12:00:02Z")]);
const now = new Date("2026-05-01T13:00:00Z");

describe("holdRegisteredRuns", () => {
  it("a live registered run holds its quota: nothing is admitted over it", async () => {
    const view = resources();
    const gate = new QueueAdmission(view);
    const result = await holdRegisteredRuns([scheduler({ late: "running" })], "owner", view, gate);
    expect(result).toEqual({ held: 1, skipped: [] });
    expect(gate.admit(view.get("TrainingJob/ml/early" as ResourceKey) as TrainingJob, now)).toMatchObject({
      admitted: false,
    });
  });

  it("a registered run not placed yet holds its quota too (Nomad places it once capacity frees)", async () => {
    const view = resources();
    const gate = new QueueAdmission(view);
    const result = await holdRegisteredRuns([scheduler({ late: "unplaced" })], "owner", view, gate);
    expect(result.held).toBe(1);
    expect(gate.admit(view.get("TrainingJob/ml/early" as ResourceKey) as TrainingJob, now)).toMatchObject({
      admitted: false,
    });
  });

  it("without it, the gate would admit a second run into a 1-run queue", () => {
    const view = resources();
    const gate = new QueueAdmission(view);
    expect(gate.admit(view.get("TrainingJob/ml/early" as ResourceKey) as TrainingJob, now)).toEqual({
      admitted: true,
    });
  });

  it("a finished run holds nothing; a scheduler that cannot be asked is reported", async () => {
    const view = resources();
    const gate = new QueueAdmission(view);
    const result = await holdRegisteredRuns(
      [scheduler({ late: "succeeded" }), scheduler({}, true)],
      "owner",
      view,
      gate,
    );
    expect(result.held).toBe(0);
    expect(result.skipped).toEqual([
      { scheduler: "nomad http://nomad.test:4646", message: "connection refused" },
    ]);
    expect(gate.holds("TrainingJob/ml/late" as ResourceKey)).toBe(false);
  });
});

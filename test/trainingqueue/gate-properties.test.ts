// Property: whatever the order of reconciles (of jobs and of queues), finishes and operator restarts, the runs registered
// with the scheduler never use more than quota + allowed borrowing, per queue and per cohort; with
// preemption (LowerPriority on two of the queues) no run is stopped for one of equal or lower priority.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AnyResource, Kind, ResourceKey, TrainingJob, TrainingQueue } from "../../src/api/resources.ts";
import { keyOf } from "../../src/api/resources.ts";
import { QueueAdmission } from "../../src/trainingqueue/gate.ts";

const QUEUES: TrainingQueue[] = [
  { name: "solo", quota: { gpus: 4 }, preemption: "LowerPriority" as const },
  { name: "b", quota: { gpus: 2 }, cohort: "lab", borrowingLimit: { gpus: 1 } },
  { name: "c", quota: { gpus: 2 }, cohort: "lab", preemption: "LowerPriority" as const },
].map(({ name, ...spec }) => ({
  apiVersion: "mlops.dev/v1alpha1",
  kind: "TrainingQueue",
  metadata: { name, namespace: "t", generation: 1 },
  spec: { admission: "StrictFIFO", preemption: "Never", ...spec },
}));
const CAP: Record<string, number> = { solo: 4, b: 3, c: 4 };

const op = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant("reconcile" as const), job: fc.nat(11) }), weight: 6 },
  { arbitrary: fc.record({ op: fc.constant("finish" as const), job: fc.nat(11) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("restart" as const) }), weight: 1 },
  // A queue's reconcile admits what fits in its scope (the runs it admits register at their job's
  // next reconcile).
  {
    arbitrary: fc.record({ op: fc.constant("queue" as const), queue: fc.constantFrom("solo", "b", "c") }),
    weight: 1,
  },
);
const jobs = fc.array(
  fc.record({
    queue: fc.constantFrom("solo", "b", "c"),
    gpus: fc.integer({ min: 1, max: 3 }),
    priority: fc.constantFrom(10, 50, 50, 90),
  }),
  { minLength: 12, maxLength: 12 },
);

describe("queue gate: invariants across reconciles, finishes and restarts", () => {
  it("registered runs never exceed quota + borrowing, per queue and per cohort; none is registered twice", () => {
    let preempted = 0;
    fc.assert(
      fc.property(jobs, fc.array(op, { minLength: 20, maxLength: 60 }), (specs, ops) => {
        const resources = new Map<ResourceKey, AnyResource>();
        for (const q of QUEUES) resources.set(keyOf(q), structuredClone(q));
        const all = specs.map((s, i) => {
          const job = {
            apiVersion: "mlops.dev/v1alpha1",
            kind: "TrainingJob",
            metadata: {
              name: `j${i}`,
              namespace: "t",
              generation: 1,
              creationTimestamp: new Date(i * 1000).toISOString(),
            },
            spec: {
              image: "x",
              queue: s.queue,
              priority: s.priority,
              replicas: 1,
              resources: { gpus: s.gpus, cpu: 100, memoryMB: 64 },
            },
          } as unknown as TrainingJob;
          return job; // it arrives (is declared) at its first reconcile
        });
        const index = {
          get: (key: ResourceKey) => resources.get(key),
          list: (kind: Kind) => [...resources.values()].filter((r) => r.kind === kind),
        };
        let gate = new QueueAdmission(index);
        const registered = new Set<number>();
        const now = new Date(100_000);
        for (const step of ops) {
          if (step.op === "restart") {
            gate = new QueueAdmission(index);
            continue;
          }
          if (step.op === "queue") {
            gate.admitWaiting(`t/${step.queue}`);
            continue;
          }
          const job = all[step.job] as TrainingJob;
          if (step.op === "reconcile") resources.set(keyOf(job), job);
          const finished = job.status?.phase === "Succeeded";
          if (step.op === "finish") {
            if (!registered.has(step.job)) continue;
            registered.delete(step.job);
            job.status = { ...job.status, phase: "Succeeded", observedGeneration: 1 };
            gate.release(keyOf(job));
            continue;
          }
          // A reconcile: what the scheduler reports first, then admission for a run not registered.
          if (finished) {
            gate.release(keyOf(job));
            continue;
          }
          const live = registered.has(step.job);
          if (live) gate.hold(job);
          const chosen = gate.holds(keyOf(job)) ? gate.preempting(keyOf(job)) : undefined;
          if (chosen) {
            // Preempted only for a run of higher priority: a registered run is stopped (it asks again
            // at its next reconcile), one admitted but not registered yet gives up its admission.
            const by = resources.get(chosen.by) as TrainingJob;
            expect(by.spec.priority).toBeGreaterThan(job.spec.priority ?? 50);
            registered.delete(step.job);
            preempted += 1;
            const queue = specs[step.job]?.queue ?? "";
            job.status = { phase: "Queued", queue: { name: queue, queuedAt: now.toISOString() } };
            gate.preempted(keyOf(job));
            if (live) continue;
          } else if (live) continue;
          if (gate.admit(job, now).admitted) {
            expect(registered.has(step.job)).toBe(false);
            registered.add(step.job);
            job.status = {
              phase: "Pending",
              queue: {
                name: specs[step.job]?.queue ?? "",
                queuedAt: now.toISOString(),
                admittedAt: now.toISOString(),
              },
            };
          }
          const used = (queue: string) =>
            [...registered]
              .filter((i) => specs[i]?.queue === queue)
              .reduce((n, i) => n + (specs[i]?.gpus ?? 0), 0);
          for (const q of ["solo", "b", "c"]) expect(used(q)).toBeLessThanOrEqual(CAP[q] as number);
          expect(used("b") + used("c")).toBeLessThanOrEqual(4);
        }
      }),
      { numRuns: 300 },
    );
    expect(preempted).toBeGreaterThan(0); // the generator does reach preemption
  });
});

// Property: whatever the order of reconciles, finishes and operator restarts, the runs registered
// with the scheduler never use more than quota + allowed borrowing, per queue and per cohort.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AnyResource, Kind, ResourceKey, TrainingJob, TrainingQueue } from "../../src/api/resources.ts";
import { keyOf } from "../../src/api/resources.ts";
import { QueueAdmission } from "../../src/trainingqueue/gate.ts";

const QUEUES: TrainingQueue[] = [
  { name: "solo", quota: { gpus: 4 } },
  { name: "b", quota: { gpus: 2 }, cohort: "lab", borrowingLimit: { gpus: 1 } },
  { name: "c", quota: { gpus: 2 }, cohort: "lab" },
].map(({ name, ...spec }) => ({
  apiVersion: "mlops.dev/v1alpha1",
  kind: "TrainingQueue",
  metadata: { name, namespace: "t", generation: 1 },
  spec: { admission: "StrictFIFO", preemption: "Never", ...spec },
}));
const CAP: Record<string, number> = { solo: 4, b: 3, c: 4 };

const op = fc.oneof(
  fc.record({ op: fc.constant("reconcile" as const), job: fc.nat(11) }),
  fc.record({ op: fc.constant("finish" as const), job: fc.nat(11) }),
  fc.record({ op: fc.constant("restart" as const) }),
);
const jobs = fc.array(
  fc.record({
    queue: fc.constantFrom("solo", "b", "c"),
    gpus: fc.nat(4),
    priority: fc.integer({ min: 1, max: 100 }),
  }),
  { minLength: 12, maxLength: 12 },
);

describe("queue gate: invariants across reconciles, finishes and restarts", () => {
  it("registered runs never exceed quota + borrowing, per queue and per cohort; none is registered twice", () => {
    fc.assert(
      fc.property(jobs, fc.array(op, { maxLength: 60 }), (specs, ops) => {
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
          resources.set(keyOf(job), job);
          return job;
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
          const job = all[step.job] as TrainingJob;
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
          if (registered.has(step.job)) {
            gate.hold(job);
            continue;
          }
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
  });
});

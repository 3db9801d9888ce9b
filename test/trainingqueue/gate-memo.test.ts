// Property: the gate keeps what it reads of each job between calls (scope-memo.ts) and gives the
// verdicts and views of a gate that reads every job on each call, while statuses are written without
// a word on the change feed (the gate is told with noteStatus, as the composition root does after
// each write): a restarted operator's admitted runs, finished runs, moved positions.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ResourceKey, TrainingJob } from "../../src/api/resources.ts";
import { QueueAdmission } from "../../src/trainingqueue/gate.ts";
import {
  expectSameViews,
  JOBS,
  job,
  NOW,
  QUEUE_IDS,
  queue,
  Resources,
  wantsToRun,
} from "./index-fixtures.ts";

const statusOp = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant("ask" as const), job: fc.nat(JOBS - 1) }), weight: 5 },
  { arbitrary: fc.record({ op: fc.constant("release" as const), job: fc.nat(JOBS - 1) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("hold" as const), job: fc.nat(JOBS - 1) }), weight: 1 },
  {
    arbitrary: fc.record({
      op: fc.constant("write" as const),
      job: fc.nat(JOBS - 1),
      status: fc.constantFrom("admitted", "notAdmitted", "succeeded", "moved", "requeued"),
    }),
    weight: 4,
  },
);

describe("queue gate keeping its reads between calls", () => {
  it("gives the verdicts and views of a gate reading every job while statuses are written", () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { minLength: JOBS, maxLength: JOBS }),
        fc.array(statusOp, { maxLength: 60 }),
        (admittedBefore, ops) => {
          const resources = new Resources();
          for (const id of QUEUE_IDS) resources.put(queue(id, { quota: { gpus: 2 } }, 1));
          for (let i = 0; i < JOBS; i++) {
            const j = job(i, ["a", "b"][i % 2 === 0 ? i % 3 : 0], 2, 1, 1);
            // A restarted operator: runs its status says were admitted count as holding until looked at.
            if (admittedBefore[i])
              j.status = {
                phase: "Running",
                observedGeneration: 1,
                queue: {
                  name: j.spec.queue ?? "",
                  queuedAt: NOW.toISOString(),
                  admittedAt: NOW.toISOString(),
                },
              };
            resources.put(j);
          }
          const kept = new QueueAdmission(resources.index, { changes: resources.feed });
          const plain = new QueueAdmission(resources.index);
          for (const step of ops) {
            const key = `TrainingJob/${step.job % 2 === 0 ? "t" : "u"}/j${step.job}` as ResourceKey;
            const j = resources.map.get(key) as TrainingJob;
            switch (step.op) {
              case "ask":
                if (!wantsToRun(j) || kept.holds(key)) break;
                expect(kept.admit(j, NOW)).toEqual(plain.admit(j, NOW));
                break;
              case "release":
                kept.release(key);
                plain.release(key);
                break;
              case "hold":
                kept.hold(j);
                plain.hold(j);
                break;
              case "write": {
                const name = j.spec.queue ?? "";
                const at = NOW.toISOString();
                j.status =
                  step.status === "admitted"
                    ? {
                        phase: "Running",
                        observedGeneration: 1,
                        queue: { name, queuedAt: at, admittedAt: at },
                      }
                    : step.status === "notAdmitted"
                      ? { phase: "Pending", observedGeneration: 1, queue: { name, queuedAt: at } }
                      : step.status === "succeeded"
                        ? { phase: "Succeeded", observedGeneration: 1, queue: { name, queuedAt: at } }
                        : step.status === "moved"
                          ? { ...j.status, queue: { name, queuedAt: at, position: 7 } }
                          : { phase: "Queued", observedGeneration: 0, queue: { name, queuedAt: at } };
                kept.noteStatus(key);
                break;
              }
            }
            expectSameViews(kept, plain);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("queue gate work per call", () => {
  it("reads only the jobs that changed: a waiting job's answer and a release do not read the whole queue", () => {
    const resources = new Resources();
    resources.put(queue("t/a", { quota: { gpus: 1 } }, 1));
    const gate = new QueueAdmission(resources.counted, { changes: resources.feed });
    const woken: ResourceKey[] = [];
    gate.changes().subscribe((key) => woken.push(key));
    const admitted: ResourceKey[] = [];
    gate.admissions().subscribe((key) => admitted.push(key));
    const jobs = Array.from({ length: 300 }, (_, i) => job(2 * i, "a", 1, 1, 1));
    for (const j of jobs) resources.put(j);
    expect(gate.admit(jobs[0] as TrainingJob, NOW)).toEqual({ admitted: true });

    resources.reads = 0;
    const last = jobs.at(-1) as TrainingJob;
    expect(gate.admit(last, NOW)).toMatchObject({ admitted: false, position: 299 });
    expect(resources.reads).toBeLessThan(10); // not one per waiting job of the queue

    resources.reads = 0;
    (jobs[0] as TrainingJob).status = { phase: "Succeeded", observedGeneration: 1 };
    gate.release("TrainingJob/t/j0" as ResourceKey);
    expect(woken).toContain("TrainingJob/t/j2"); // the next run is admitted and reconciled
    expect(admitted).toEqual(["TrainingJob/t/j2"]); // urgently (j0 was admitted asking: not reported)
    expect(resources.reads).toBeLessThan(10);
    expect(gate.admit(last, NOW)).toMatchObject({ admitted: false, position: 298 });
    expect(gate.view(queue("t/a", {}, 1))).toMatchObject({ admitted: 1, pending: 298 });
  });
});

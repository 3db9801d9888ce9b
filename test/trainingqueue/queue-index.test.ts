// Property: the gate that keeps jobs indexed by queue (from the resource index's change feed) gives
// the same verdicts, views and wake-ups as a gate that reads every job on each call, and each verdict
// is the pure admission core's over every job, while jobs move between queues by spec edits, jobs and
// queues are deleted and recreated, and queues join and leave cohorts.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ResourceKey, TrainingJob, TrainingQueue } from "../../src/api/resources.ts";
import { keyOf } from "../../src/api/resources.ts";
import { admit, type PendingRun, type QueueInput, requestOf } from "../../src/trainingqueue/admission.ts";
import { QueueAdmission } from "../../src/trainingqueue/gate.ts";
import { QueueIndex } from "../../src/trainingqueue/queue-index.ts";
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

const queueName = fc.constantFrom("a", "b", "c", "gone");
const op = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant("ask" as const), job: fc.nat(JOBS - 1) }), weight: 6 },
  { arbitrary: fc.record({ op: fc.constant("finish" as const), job: fc.nat(JOBS - 1) }), weight: 3 },
  {
    arbitrary: fc.record({
      op: fc.constant("edit" as const),
      job: fc.nat(JOBS - 1),
      queue: fc.option(queueName, { nil: undefined }),
      priority: fc.integer({ min: 1, max: 3 }),
      gpus: fc.nat(3),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ op: fc.constant("deleteJob" as const), job: fc.nat(JOBS - 1) }), weight: 1 },
  {
    arbitrary: fc.record({
      op: fc.constant("putQueue" as const),
      queue: fc.constantFrom(...QUEUE_IDS),
      gpus: fc.nat(4),
      cohort: fc.option(fc.constantFrom("x", "y"), { nil: undefined }),
      borrow: fc.option(fc.nat(2), { nil: undefined }),
      admission: fc.constantFrom("StrictFIFO" as const, "BestEffortFIFO" as const),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({ op: fc.constant("deleteQueue" as const), queue: fc.constantFrom(...QUEUE_IDS) }),
    weight: 1,
  },
);

/** The verdict the pure admission core gives `asker` over every job and queue of the index. */
function reference(
  resources: Resources,
  holds: (key: ResourceKey) => boolean,
  done: Set<ResourceKey>,
  asker: TrainingJob,
) {
  const usage = new Map<string, number>();
  const pending: PendingRun[] = [];
  for (const j of resources.jobs()) {
    if (j.spec.queue === undefined) continue;
    const id = `${j.metadata.namespace}/${j.spec.queue}`;
    const key = keyOf(j);
    if (holds(key)) usage.set(id, (usage.get(id) ?? 0) + (j.spec.resources.gpus ?? 0));
    else if (wantsToRun(j) && (!done.has(key) || key === keyOf(asker)))
      pending.push({
        id: key,
        queue: id,
        request: requestOf(j.spec.replicas, j.spec.resources),
        priority: j.spec.priority ?? 50,
        arrival: Date.parse(j.metadata.creationTimestamp ?? ""),
      });
  }
  const queues = [...resources.map.values()]
    .filter((r): r is TrainingQueue => r.kind === "TrainingQueue")
    .map((q): QueueInput => {
      const id = `${q.metadata.namespace}/${q.metadata.name}`;
      const gpus = usage.get(id) ?? 0;
      return {
        id,
        quota: q.spec.quota ?? {},
        cohort: q.spec.cohort,
        borrowingLimit: q.spec.borrowingLimit,
        admission: q.spec.admission ?? "StrictFIFO",
        usage: { gpus, cpu: 0, memoryMB: 0, runs: 0 },
      };
    });
  // cpu, memoryMB and runs have no quota here: only gpus decide.
  const result = admit(queues, pending);
  if (result.admitted.includes(keyOf(asker))) return { admitted: true };
  const w = result.waiting.get(keyOf(asker));
  return {
    admitted: false,
    reason: w?.reason,
    message: w?.message,
    ...(w?.position !== undefined ? { position: w.position } : {}),
  };
}

describe("queue gate indexed by queue", () => {
  it("gives the verdicts, views and wake-ups of a gate reading every job, and the admission core's verdicts", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const resources = new Resources();
        for (const id of QUEUE_IDS) resources.put(queue(id, { quota: { gpus: 2 } }, 1));
        for (let i = 0; i < JOBS; i++) resources.put(job(i, ["a", "b"][i % 3], 2, 1, 1));
        const indexed = new QueueAdmission(resources.index, { changes: resources.feed });
        const plain = new QueueAdmission(resources.index);
        const woken = { indexed: [] as string[], plain: [] as string[] };
        indexed.changes().subscribe((k) => woken.indexed.push(k));
        plain.changes().subscribe((k) => woken.plain.push(k));
        const done = new Set<ResourceKey>();
        const generations = new Map<string, number>();
        const next = (key: string) => {
          const g = (generations.get(key) ?? 1) + 1;
          generations.set(key, g);
          return g;
        };

        for (const step of ops) {
          woken.indexed.length = 0;
          woken.plain.length = 0;
          const key =
            "job" in step
              ? (`TrainingJob/${step.job % 2 === 0 ? "t" : "u"}/j${step.job}` as ResourceKey)
              : undefined;
          const current = key ? resources.map.get(key) : undefined;
          const j = current?.kind === "TrainingJob" ? current : undefined;
          switch (step.op) {
            case "ask": {
              if (!j?.spec.queue || !wantsToRun(j) || indexed.holds(keyOf(j))) break;
              const expected = reference(resources, (k) => indexed.holds(k), done, j);
              const verdict = indexed.admit(j, NOW);
              expect(plain.admit(j, NOW)).toEqual(verdict);
              expect(verdict).toMatchObject(expected);
              done.delete(keyOf(j));
              break;
            }
            case "finish": {
              if (!j || !indexed.holds(keyOf(j))) break;
              j.status = { phase: "Succeeded", observedGeneration: j.metadata.generation };
              done.add(keyOf(j));
              indexed.release(keyOf(j));
              plain.release(keyOf(j));
              break;
            }
            case "edit": {
              const generation = next(key as string);
              const edited = job(step.job, step.queue, step.priority, step.gpus, generation);
              if (j?.status) edited.status = j.status;
              // A held run keeps the request it was admitted with: only its queue and priority change.
              if (j && indexed.holds(keyOf(j))) edited.spec.resources = j.spec.resources;
              resources.put(edited);
              break;
            }
            case "deleteJob": {
              if (!key || !j) break;
              resources.delete(key);
              done.add(key);
              indexed.release(key);
              plain.release(key);
              break;
            }
            case "putQueue": {
              const spec = {
                quota: { gpus: step.gpus },
                admission: step.admission,
                ...(step.cohort ? { cohort: step.cohort } : {}),
                ...(step.borrow !== undefined ? { borrowingLimit: { gpus: step.borrow } } : {}),
              };
              resources.put(queue(step.queue, spec, next(step.queue)));
              break;
            }
            case "deleteQueue":
              resources.delete(`TrainingQueue/${step.queue}` as ResourceKey);
              break;
          }
          expect([...woken.indexed].sort()).toEqual([...woken.plain].sort());
          expectSameViews(indexed, plain);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("QueueIndex", () => {
  it("moves a job to the queue its spec names now, and drops it when gone or without a queue", () => {
    const resources = new Resources();
    const index = new QueueIndex(resources.index, resources.feed);
    resources.put(job(0, "a", 1, 1, 1));
    index.sync();
    expect(index.jobsIn(new Set(["t/a"])).map(keyOf)).toEqual(["TrainingJob/t/j0"]);
    resources.put(job(0, "b", 1, 1, 2));
    expect(index.jobsIn(new Set(["t/a"]))).toEqual([]);
    expect(index.jobsIn(new Set(["t/b"])).map(keyOf)).toEqual(["TrainingJob/t/j0"]);
    resources.put(job(0, undefined, 1, 1, 3));
    expect(index.jobsIn()).toEqual([]);
    resources.put(job(0, "a", 1, 1, 4));
    resources.delete("TrainingJob/t/j0" as ResourceKey);
    expect(index.jobsIn()).toEqual([]);
  });

  it("a job moved without a word from the feed is found under its new queue once read", () => {
    const resources = new Resources();
    const index = new QueueIndex(resources.index, resources.feed);
    resources.put(job(0, "a", 1, 1, 1));
    index.sync();
    resources.map.set("TrainingJob/t/j0" as ResourceKey, job(0, "b", 1, 1, 2)); // no announcement
    expect(index.jobsIn(new Set(["t/a"]))).toEqual([]);
    expect(index.jobsIn(new Set(["t/b"])).map(keyOf)).toEqual(["TrainingJob/t/j0"]);
  });

  it("an admission does not read the queue's finished jobs again until they change", () => {
    const resources = new Resources();
    resources.put(queue("t/a", { quota: { gpus: 1 } }, 1));
    const gate = new QueueAdmission(resources.counted, { changes: resources.feed });
    const finished = Array.from({ length: 200 }, (_, i) => job(2 * i, "a", 1, 1, 1));
    for (const j of finished) {
      resources.put(j);
      expect(gate.admit(j, NOW)).toEqual({ admitted: true });
      j.status = { phase: "Succeeded", observedGeneration: 1 }; // written by its reconcile: no announcement
      gate.release(keyOf(j));
    }
    const next = job(1000, "a", 1, 1, 1);
    resources.put(next);
    resources.reads = 0;
    expect(gate.admit(next, NOW)).toEqual({ admitted: true });
    expect(resources.reads).toBeLessThan(10); // not one per finished job of the queue
    // A finished job edited (a new generation, announced) is read and queued again.
    const again = job(0, "a", 1, 1, 2);
    resources.put(again);
    gate.release(keyOf(next));
    expect(gate.admit(again, NOW)).toEqual({ admitted: true });
    expect(gate.view(queue("t/a", {}, 1))).toMatchObject({ admitted: 1 });
  });

  it("a cohort's scope follows queues joining, leaving, deleted and recreated", () => {
    const resources = new Resources();
    const index = new QueueIndex(resources.index, resources.feed);
    resources.put(queue("t/a", { cohort: "x" }, 1));
    resources.put(queue("t/b", { cohort: "x" }, 1));
    index.sync();
    expect([...index.scopeOf("t/a")].sort()).toEqual(["t/a", "t/b"]);
    resources.put(queue("u/a", { cohort: "x" }, 1));
    expect([...index.scopeOf("t/b")].sort()).toEqual(["t/a", "t/b", "u/a"]);
    resources.put(queue("t/b", {}, 2));
    expect([...index.scopeOf("t/a")].sort()).toEqual(["t/a", "u/a"]);
    expect([...index.scopeOf("t/b")]).toEqual(["t/b"]);
    resources.delete("TrainingQueue/u/a" as ResourceKey);
    expect([...index.scopeOf("t/a")]).toEqual(["t/a"]);
    resources.put(queue("u/a", { cohort: "x" }, 3));
    expect([...index.scopeOf("t/a")].sort()).toEqual(["t/a", "u/a"]);
    expect([...index.scopeOf("gone/q")]).toEqual(["gone/q"]);
  });
});

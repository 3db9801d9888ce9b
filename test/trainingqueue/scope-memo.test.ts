// The scope's waiting runs kept in admission order and its usage kept summed as entries change
// (scope-memo.ts): a decision per release reads them without sorting or summing the queue again, so
// they must be what a fresh sort and sum of the entries give, after any sequence of arrivals,
// admissions, releases and moves.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ResourceKey } from "../../src/api/resources.ts";
import { byPriority, type PendingRun } from "../../src/trainingqueue/admission.ts";
import { type Entry, orderedRuns, ScopeMemos } from "../../src/trainingqueue/scope-memo.ts";

const QUEUES = ["team-a/q0", "team-a/q1"] as const;
const key = (i: number) => `TrainingJob/team-a/job-${i}` as ResourceKey;

const op = fc.record({
  job: fc.nat(11),
  to: fc.constantFrom("pending", "holding", "none", "recorded"),
  queue: fc.constantFrom(...QUEUES),
  priority: fc.integer({ min: 1, max: 3 }),
  arrival: fc.integer({ min: 0, max: 3 }),
  position: fc.integer({ min: 1, max: 20 }),
});

/** What the holding entries request per queue, read afresh (queues using nothing left out). */
function freshUsage(entries: ReadonlyMap<ResourceKey, Entry>): Record<string, number> {
  const usage: Record<string, number> = {};
  for (const entry of entries.values()) {
    if (entry.state === "holding") usage[entry.queue] = (usage[entry.queue] ?? 0) + (entry.request.gpus ?? 0);
  }
  return usage;
}

function keptUsage(scope: { usage: ReadonlyMap<string, { gpus: number }> }): Record<string, number> {
  return Object.fromEntries(
    [...scope.usage].filter(([, sum]) => sum.gpus !== 0).map(([q, sum]) => [q, sum.gpus]),
  );
}

function fresh(entries: ReadonlyMap<ResourceKey, Entry>): string[] {
  const runs: PendingRun[] = [];
  for (const entry of entries.values()) if (entry.state === "pending") runs.push(entry.run);
  return runs.sort(byPriority).map((r) => r.id);
}

describe("ScopeMemos: the kept admission order and usage", () => {
  it("equal a fresh sort of the scope's waiting runs and a fresh sum of its holding ones after every change", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.nat(59), (ops, askAt) => {
        const memos = new ScopeMemos();
        const scope = memos.put(new Set(QUEUES), new Map());
        ops.forEach((o, i) => {
          const id = key(o.job);
          const before = scope.entries.get(id);
          let entry: Entry | undefined;
          if (o.to === "holding")
            entry = { state: "holding", queue: o.queue, request: { gpus: o.priority, runs: 1 } };
          else if (o.to === "pending" || (o.to === "recorded" && before?.state === "pending")) {
            // "recorded": the same run with a new written position (a fresh object of the same values)
            const run =
              o.to === "recorded" && before?.state === "pending"
                ? { ...before.run }
                : { id, queue: o.queue, request: { runs: 1 }, priority: o.priority, arrival: o.arrival };
            entry = { state: "pending", queue: run.queue, run, recorded: o.position };
          }
          memos.update(id, entry);
          // First asked for at `askAt` (built from the entries), kept from then on.
          if (i >= askAt) expect(orderedRuns(scope).map((r) => r.id)).toEqual(fresh(scope.entries));
          expect(keptUsage(scope)).toEqual(freshUsage(scope.entries));
        });
      }),
      { numRuns: 300 },
    );
  });
});

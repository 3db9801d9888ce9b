// A decision's waiting runs (waitlist.ts): one run's place counted when asked for, and each run's
// place walked without a map, must give what the whole map gives, in scopes of one queue and of a
// cohort's queues interleaved, with runs that have no place in line (no queue, too large).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { admit, byPriority, type PendingRun, type QueueInput } from "../../src/trainingqueue/admission.ts";

const QUEUES = ["a/q0", "a/q1", "a/gone"] as const;

const queues = (admission: QueueInput["admission"], cohort: boolean): QueueInput[] =>
  QUEUES.slice(0, 2).map((id, i) => ({
    id,
    quota: { gpus: 2 + i },
    admission,
    usage: { gpus: i },
    ...(cohort ? { cohort: "lab" } : {}),
  }));

const runs = fc.uniqueArray(
  fc.record({
    id: fc.integer({ min: 0, max: 40 }).map((n) => `run-${n}`),
    queue: fc.constantFrom(...QUEUES),
    gpus: fc.integer({ min: 0, max: 7 }),
    priority: fc.integer({ min: 1, max: 3 }),
    arrival: fc.nat(5),
  }),
  { selector: (r) => r.id, maxLength: 25 },
);

const pendingOf = (list: { id: string; queue: string; gpus: number; priority: number; arrival: number }[]) =>
  list.map(
    (r): PendingRun => ({
      id: r.id,
      queue: r.queue,
      request: { gpus: r.gpus, runs: 1 },
      priority: r.priority,
      arrival: r.arrival,
    }),
  );

describe("Waitlist", () => {
  it("gives each run's place as the whole map does: asked one by one, walked, and in order", () => {
    fc.assert(
      fc.property(
        runs,
        fc.constantFrom("StrictFIFO", "BestEffortFIFO") as fc.Arbitrary<QueueInput["admission"]>,
        fc.boolean(),
        fc.boolean(),
        (list, admission, cohort, sorted) => {
          const pending = pendingOf(list);
          const input = sorted ? [...pending].sort(byPriority) : pending;
          const decide = () => admit(queues(admission, cohort), input, { ordered: sorted });
          const whole = new Map(decide().waiting); // iterated: the map built once
          const lazy = decide().waiting;
          for (const run of pending) {
            const asked = lazy.get(run.id);
            const expected = whole.get(run.id);
            expect(asked && { ...asked, message: asked.message }).toEqual(
              expected && { ...expected, message: expected.message },
            );
          }
          const walked: [string, number | undefined][] = [];
          decide().waiting.eachPosition((id, position) => {
            walked.push([id, position]);
            return false;
          });
          expect(walked).toEqual([...whole].map(([id, w]) => [id, w.position]));
          // Positions are consecutive from 1 within each queue, in admission order.
          const byQueue = new Map<string, number[]>();
          for (const [id, w] of whole) {
            if (w.position === undefined) continue;
            const queue = pending.find((p) => p.id === id)?.queue as string;
            byQueue.set(queue, [...(byQueue.get(queue) ?? []), w.position]);
          }
          for (const positions of byQueue.values()) expect(positions).toEqual(positions.map((_, i) => i + 1));
        },
      ),
      { numRuns: 400 },
    );
  });
});

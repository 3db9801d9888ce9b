import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Amounts,
  admit,
  byPriority,
  type PendingRun,
  type QueueInput,
  RESOURCES,
} from "../../src/trainingqueue/admission.ts";

const queue = (id: string, quota: Amounts, extra: Partial<QueueInput> = {}): QueueInput => ({
  id,
  quota,
  admission: "StrictFIFO",
  usage: {},
  ...extra,
});
const run = (id: string, gpus: number, priority = 50, arrival = 0, q = "a/q"): PendingRun => ({
  id,
  queue: q,
  request: { gpus, runs: 1 },
  priority,
  arrival,
});

describe("admit", () => {
  const table: {
    name: string;
    queues: QueueInput[];
    pending: PendingRun[];
    admitted: string[];
    waiting?: Record<string, string>;
  }[] = [
    {
      name: "admits in priority order up to the quota",
      queues: [queue("a/q", { gpus: 4 })],
      pending: [run("low", 2, 10, 0), run("high", 2, 90, 5), run("mid", 2, 50, 1)],
      admitted: ["high", "mid"],
      waiting: { low: "WaitingForQuota@1" },
    },
    {
      name: "equal priority: the earlier arrival first, then the id",
      queues: [queue("a/q", { gpus: 2 })],
      pending: [run("b", 1, 50, 1), run("c", 1, 50, 0), run("a", 1, 50, 1)],
      admitted: ["c", "a"],
      waiting: { b: "WaitingForQuota@1" },
    },
    {
      name: "StrictFIFO: a small run does not pass a head that does not fit",
      queues: [queue("a/q", { gpus: 4 }, { usage: { gpus: 2, runs: 1 } })],
      pending: [run("big", 4, 90), run("small", 1, 10)],
      admitted: [],
      waiting: { big: "WaitingForQuota@1", small: "WaitingForQuota@2" },
    },
    {
      name: "BestEffortFIFO: a small run passes a head that does not fit",
      queues: [queue("a/q", { gpus: 4 }, { admission: "BestEffortFIFO", usage: { gpus: 2 } })],
      pending: [run("big", 4, 90), run("small", 1, 10)],
      admitted: ["small"],
      waiting: { big: "WaitingForQuota@1" },
    },
    {
      name: "QuotaExceeded: never admitted, does not block the head, has no position",
      queues: [queue("a/q", { gpus: 4 })],
      pending: [run("huge", 8, 90), run("ok", 4, 10)],
      admitted: ["ok"],
      waiting: { huge: "QuotaExceeded" },
    },
    {
      name: "QueueNotFound",
      queues: [],
      pending: [run("x", 1)],
      admitted: [],
      waiting: { x: "QueueNotFound" },
    },
    {
      name: "runs quota",
      queues: [queue("a/q", { runs: 1 })],
      pending: [run("one", 0), run("two", 0)],
      admitted: ["one"],
      waiting: { two: "WaitingForQuota@1" },
    },
    {
      name: "an absent quota is unlimited",
      queues: [queue("a/q", {})],
      pending: [run("one", 100), run("two", 100)],
      admitted: ["one", "two"],
    },
    {
      name: "borrows a cohort's unused quota up to the borrowing limit",
      queues: [
        queue("a/q", { gpus: 2 }, { cohort: "lab", borrowingLimit: { gpus: 1 } }),
        queue("b/q", { gpus: 4 }, { cohort: "lab" }),
      ],
      pending: [run("r1", 2, 50, 0), run("r2", 1, 50, 1), run("r3", 1, 50, 2)],
      admitted: ["r1", "r2"],
      waiting: { r3: "WaitingForQuota@1" },
    },
    {
      name: "a request above quota + borrowing limit is QuotaExceeded",
      queues: [
        queue("a/q", { gpus: 2 }, { cohort: "lab", borrowingLimit: { gpus: 1 } }),
        queue("b/q", { gpus: 4 }, { cohort: "lab" }),
      ],
      pending: [run("r", 4)],
      admitted: [],
      waiting: { r: "QuotaExceeded" },
    },
    {
      name: "borrowing is bounded by what the cohort has unused",
      queues: [
        queue("a/q", { gpus: 2 }, { cohort: "lab" }),
        queue("b/q", { gpus: 2 }, { cohort: "lab", usage: { gpus: 1 } }),
      ],
      pending: [run("r", 3), run("s", 1, 10, 1, "b/q")],
      admitted: ["r"],
      waiting: { s: "WaitingForQuota@1" },
    },
    {
      name: "without a cohort nothing is borrowed",
      queues: [queue("a/q", { gpus: 2 }), queue("b/q", { gpus: 4 })],
      pending: [run("r", 3)],
      admitted: [],
      waiting: { r: "QuotaExceeded" },
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      const result = admit(t.queues, t.pending);
      expect(result.admitted).toEqual(t.admitted);
      const waiting = Object.fromEntries(
        [...result.waiting].map(([id, w]) => [id, w.position ? `${w.reason}@${w.position}` : w.reason]),
      );
      expect(waiting).toEqual(t.waiting ?? {});
    });
  }
});

// Queues in up to two cohorts, their admitted usage, and pending runs of random size and priority.
const amounts = (max: number) =>
  fc.record(
    { gpus: fc.nat(max), cpu: fc.nat(max * 1000), memoryMB: fc.nat(max * 1000), runs: fc.nat(max) },
    { requiredKeys: [] },
  );
const world = fc
  .record({
    queues: fc.uniqueArray(
      fc.record({
        name: fc.constantFrom("a", "b", "c", "d"),
        quota: amounts(8),
        cohort: fc.option(fc.constantFrom("x", "y"), { nil: undefined }),
        borrowingLimit: fc.option(amounts(4), { nil: undefined }),
        admission: fc.constantFrom("StrictFIFO" as const, "BestEffortFIFO" as const),
        usage: amounts(6),
      }),
      { selector: (q) => q.name, minLength: 1, maxLength: 4 },
    ),
    runs: fc.array(
      fc.record({
        queue: fc.constantFrom("a", "b", "c", "d", "gone"),
        request: fc.record({ gpus: fc.nat(5), cpu: fc.nat(5000), memoryMB: fc.nat(5000) }),
        priority: fc.integer({ min: 1, max: 100 }),
        arrival: fc.nat(20),
      }),
      { maxLength: 25 },
    ),
  })
  .map(({ queues, runs }) => ({
    queues: queues.map((q) => ({ ...q, id: q.name })) as QueueInput[],
    pending: runs.map((r, i) => ({ ...r, id: `r${i}`, request: { ...r.request, runs: 1 } })),
  }));

describe("admit: invariants", () => {
  it("never admits over quota + borrowing, never past the cohort, never twice, StrictFIFO in order", () => {
    fc.assert(
      fc.property(world, ({ queues, pending }) => {
        const result = admit(queues, pending);
        expect(new Set(result.admitted).size).toBe(result.admitted.length);
        const admitted = new Set(result.admitted);
        for (const id of admitted) expect(result.waiting.has(id)).toBe(false);
        for (const run of pending) expect(admitted.has(run.id) || result.waiting.has(run.id)).toBe(true);
        const req = (id: string): Amounts => pending.find((p) => p.id === id)?.request ?? {};
        for (const q of queues) {
          const mine = result.admitted.filter((id) => pending.find((p) => p.id === id)?.queue === q.id);
          for (const r of RESOURCES) {
            const added = mine.reduce((n, id) => n + (req(id)[r] ?? 0), 0);
            if (added === 0) continue;
            const cap =
              (q.quota[r] ?? Number.POSITIVE_INFINITY) +
              (q.cohort ? (q.borrowingLimit?.[r] ?? Number.POSITIVE_INFINITY) : 0);
            expect((q.usage[r] ?? 0) + added).toBeLessThanOrEqual(cap);
          }
        }
        for (const cohort of ["x", "y"]) {
          const members = queues.filter((q) => q.cohort === cohort);
          for (const r of RESOURCES) {
            const quota = members.reduce((n, q) => n + (q.quota[r] ?? Number.POSITIVE_INFINITY), 0);
            const before = members.reduce((n, q) => n + (q.usage[r] ?? 0), 0);
            const added = result.admitted
              .filter((id) => members.some((q) => q.id === pending.find((p) => p.id === id)?.queue))
              .reduce((n, id) => n + (req(id)[r] ?? 0), 0);
            if (added > 0) expect(before + added).toBeLessThanOrEqual(quota);
          }
        }
        // StrictFIFO: within a queue, no admitted run comes after a run left WaitingForQuota.
        for (const q of queues.filter((x) => x.admission === "StrictFIFO")) {
          const order = pending.filter((p) => p.queue === q.id).sort(byPriority);
          let waited = false;
          for (const p of order) {
            if (result.waiting.get(p.id)?.reason === "WaitingForQuota") waited = true;
            if (waited) expect(admitted.has(p.id)).toBe(false);
          }
        }
        // Positions are 1..n within each queue.
        for (const q of queues) {
          const positions = pending
            .filter((p) => p.queue === q.id)
            .map((p) => result.waiting.get(p.id)?.position)
            .filter((n): n is number => n !== undefined)
            .sort((a, b) => a - b);
          expect(positions).toEqual(positions.map((_, i) => i + 1));
        }
      }),
      { numRuns: 300 },
    );
  });
});

import { describe, expect, it } from "vitest";
import type { Amounts, PendingRun } from "../../src/trainingqueue/admission.ts";
import { type AdmittedRun, type PreemptingQueue, preemptionFor } from "../../src/trainingqueue/preemption.ts";

const queue = (id: string, quota: Amounts, extra: Partial<PreemptingQueue> = {}): PreemptingQueue => ({
  id,
  quota,
  admission: "StrictFIFO",
  preemption: "LowerPriority",
  ...extra,
});
const held = (id: string, gpus: number, priority: number, admittedAt: number, q = "a/q"): AdmittedRun => ({
  id,
  queue: q,
  request: { gpus, runs: 1 },
  priority,
  admittedAt,
});
const wants = (gpus: number, priority: number, q = "a/q"): PendingRun => ({
  id: "new",
  queue: q,
  request: { gpus, runs: 1 },
  priority,
  arrival: 100,
});
const lab = (id: string, quota: Amounts, extra: Partial<PreemptingQueue> = {}) =>
  queue(id, quota, { cohort: "lab", ...extra });

describe("preemptionFor", () => {
  const table: {
    name: string;
    queues: PreemptingQueue[];
    admitted: AdmittedRun[];
    run: PendingRun;
    /** The victims in the order chosen, or the start of the reason nothing is preempted. */
    want: string[] | string;
  }[] = [
    {
      name: "preemption Never: nothing, even for a much higher priority",
      queues: [queue("a/q", { gpus: 2 }, { preemption: "Never" })],
      admitted: [held("low", 2, 10, 1)],
      run: wants(2, 90),
      want: "queue a/q does not preempt",
    },
    {
      name: "among equal priorities, the newest admitted run goes first",
      queues: [queue("a/q", { gpus: 4 })],
      admitted: [held("old", 2, 10, 1), held("young", 2, 10, 2)],
      run: wants(2, 90),
      want: ["young"],
    },
    {
      name: "the lowest priority goes first, however old",
      queues: [queue("a/q", { gpus: 4 })],
      admitted: [held("old", 2, 10, 1), held("young", 2, 20, 2)],
      run: wants(2, 90),
      want: ["old"],
    },
    {
      name: "as many as needed, newest first",
      queues: [queue("a/q", { gpus: 4 })],
      admitted: [held("r1", 1, 10, 1), held("r2", 1, 10, 2), held("r3", 2, 10, 3)],
      run: wants(4, 90),
      want: ["r3", "r2", "r1"],
    },
    {
      name: "no more than needed: a newer small run is spared when an older large one made room",
      queues: [queue("a/q", { gpus: 4 })],
      admitted: [held("large", 3, 10, 1), held("small", 1, 10, 2)],
      run: wants(3, 90),
      want: ["large"],
    },
    {
      name: "equal and higher priority are never preempted",
      queues: [queue("a/q", { gpus: 4 })],
      admitted: [held("same", 2, 50, 1), held("higher", 2, 60, 2)],
      run: wants(2, 50),
      want: "preempting lower-priority runs would not make room",
    },
    {
      name: "not enough lower-priority quota to make room: nothing is preempted",
      queues: [queue("a/q", { gpus: 4 })],
      admitted: [held("low", 1, 10, 2), held("high", 3, 90, 1)],
      run: wants(2, 50),
      want: "preempting lower-priority runs would not make room",
    },
    {
      name: "a run larger than quota (QuotaExceeded) preempts nothing",
      queues: [queue("a/q", { gpus: 4 })],
      admitted: [held("low", 4, 10, 1)],
      run: wants(5, 90),
      want: "the run can never fit its queue",
    },
    {
      name: "a run that fits already needs no victim",
      queues: [queue("a/q", { gpus: 4 })],
      admitted: [held("low", 2, 10, 1)],
      run: wants(2, 90),
      want: [],
    },
    {
      name: "runs already being preempted count as free: no further victim",
      queues: [queue("a/q", { gpus: 4 })],
      admitted: [{ ...held("going", 2, 10, 2), preempting: true }, held("low", 2, 10, 1)],
      run: wants(2, 90),
      want: [],
    },
    {
      name: "the runs quota counts too",
      queues: [queue("a/q", { runs: 2 })],
      admitted: [held("a", 0, 10, 1), held("b", 0, 10, 2)],
      run: wants(0, 90),
      want: ["b"],
    },
    {
      name: "a queue that does not exist preempts nothing",
      queues: [queue("a/q", { gpus: 4 })],
      admitted: [held("low", 4, 10, 1)],
      run: wants(1, 90, "a/other"),
      want: "queue a/other does not exist",
    },
    {
      name: "cohort: a borrower of another queue is preempted to reclaim the lent quota",
      queues: [lab("a/q", { gpus: 2 }), lab("a/r", { gpus: 2 })],
      admitted: [held("mine", 0, 10, 1), held("b1", 2, 10, 1, "a/r"), held("b2", 2, 10, 2, "a/r")],
      run: wants(2, 90),
      want: ["b2"],
    },
    {
      name: "cohort: the own queue's lower-priority runs go before borrowers",
      queues: [lab("a/q", { gpus: 2 }), lab("a/r", { gpus: 2 })],
      admitted: [held("mine", 1, 10, 1), held("b1", 1, 10, 1, "a/r"), held("b2", 2, 10, 2, "a/r")],
      run: wants(1, 90),
      want: ["mine"],
    },
    {
      name: "cohort: an own run chosen first is spared when the borrower chosen after it made room alone",
      queues: [lab("a/q", { gpus: 2 }), lab("a/r", { gpus: 2 })],
      admitted: [held("mine", 1, 10, 1), held("b1", 1, 10, 1, "a/r"), held("b2", 2, 10, 2, "a/r")],
      run: wants(2, 90),
      want: ["b2"],
    },
    {
      name: "cohort: a queue within its own quota is not a borrower and is left alone",
      queues: [lab("a/q", { gpus: 2 }), lab("a/r", { gpus: 2 }), lab("a/s", { gpus: 2 })],
      admitted: [held("r1", 2, 10, 1, "a/r"), held("s1", 4, 10, 2, "a/s")],
      run: wants(2, 90),
      want: ["s1"],
    },
    {
      name: "cohort: a borrower of higher priority is left alone",
      queues: [lab("a/q", { gpus: 2 }), lab("a/r", { gpus: 2 })],
      admitted: [held("b1", 4, 95, 1, "a/r")],
      run: wants(2, 90),
      want: "preempting lower-priority runs would not make room",
    },
    {
      name: "cohort: borrowers are not preempted for a run that would itself borrow",
      queues: [lab("a/q", { gpus: 2 }), lab("a/r", { gpus: 2 })],
      admitted: [held("mine", 2, 95, 1), held("b1", 2, 10, 1, "a/r")],
      run: wants(1, 90),
      want: "preempting lower-priority runs would not make room",
    },
    {
      name: "a queue of another cohort is never touched",
      queues: [lab("a/q", { gpus: 2 }), queue("a/x", { gpus: 2 }, { cohort: "other" })],
      admitted: [held("mine", 2, 95, 1), held("x1", 2, 10, 1, "a/x")],
      run: wants(2, 90),
      want: "preempting lower-priority runs would not make room",
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      const got = preemptionFor(t.queues, t.admitted, t.run);
      if (typeof t.want === "string") {
        expect(got.preempt).toBe(false);
        expect(got.preempt === false && got.why).toMatch(new RegExp(`^${t.want}`));
      } else {
        expect(got).toEqual({ preempt: true, victims: t.want });
      }
    });
  }
});

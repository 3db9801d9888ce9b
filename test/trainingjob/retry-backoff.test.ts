// retryPolicy.backoff: a failed attempt's retry waits delaySeconds × factor^(n-1) after the failure
// (n: the run's failures charged to a budget), at most maxDelaySeconds; without it, at once.
import { describe, expect, it } from "vitest";
import { validateDocument } from "../../src/api/validate.ts";
import { attemptsAfter } from "../../src/trainingjob/attempts.ts";
import { decide, type RunRecord } from "../../src/trainingjob/decide.ts";
import { runSpecHash, specHash } from "../../src/trainingjob/hash.ts";
import { retryDelayMs } from "../../src/trainingjob/retry-backoff.ts";
import { statusFrom } from "../../src/trainingjob/status.ts";
import { observedRun, replica, trainingJob } from "./builders.ts";

const KEY = "TrainingJob/default/train";
const FAILED_AT = "2026-01-01T12:00:00.000Z";
const at = (seconds: number) => new Date(Date.parse(FAILED_AT) + seconds * 1000);

type Spec = Parameters<typeof trainingJob>[0];
const backoff = (b: { delaySeconds: number; factor?: number; maxDelaySeconds?: number }) =>
  ({
    backoffLimit: 5,
    retryPolicy: { infraRetryLimit: 3, backoff: { factor: 2, maxDelaySeconds: 360, ...b } },
  }) satisfies Spec;

function setup(spec: Spec) {
  const job = trainingJob(spec);
  const run = runSpecHash(job.spec);
  const recorded = (attempts: NonNullable<RunRecord["attempts"]>): RunRecord => ({
    id: "r1",
    generation: 1,
    specHash: run,
    startTime: "2026-01-01T11:00:00Z",
    attempts,
  });
  const observed = (attempt: number, replicas = [failedReplica()]) =>
    observedRun({ runId: "r1", specHash: specHash(job.spec), runSpecHash: run, attempt, replicas });
  /** `seen` null: the scheduler reports nothing of the run; absent: its last attempt, failed. */
  const decideAt = (now: Date, record: RunRecord, seen?: ReturnType<typeof observed> | null) =>
    decide({
      key: KEY,
      spec: job.spec,
      generation: 1,
      specHash: specHash(job.spec),
      runSpecHash: run,
      recorded: record,
      observed: seen === null ? undefined : (seen ?? observed(record.attempts?.at(-1)?.attempt ?? 1)),
      ownerId: "owner-a",
      now,
      startupTimeoutMs: 600_000,
    });
  return { job, recorded, observed, decideAt };
}

function failedReplica(extra: Partial<ReturnType<typeof replica>> = {}) {
  return replica(0, "failed", { exitCode: 1, exhausted: true, finishedAt: FAILED_AT, ...extra });
}

/** `n` attempts that failed (charged to the user's budget) before the attempt `n + 1` that runs. */
function failures(n: number): NonNullable<RunRecord["attempts"]> {
  return [
    ...Array.from({ length: n }, (_, i) => ({
      attempt: i + 1,
      startTime: "2026-01-01T10:00:00Z",
      completionTime: "2026-01-01T10:30:00Z",
      counted: "user" as const,
    })),
    { attempt: n + 1, startTime: "2026-01-01T11:00:00Z" },
  ];
}

/** Attempt 1 failed (the code's failure) and its retry was not submitted yet. */
const FAILED_ONCE: NonNullable<RunRecord["attempts"]> = [
  {
    attempt: 1,
    startTime: "2026-01-01T11:00:00Z",
    completionTime: FAILED_AT,
    counted: "user",
    reason: "Error",
  },
];

describe("retryDelayMs", () => {
  it("is 0 without a backoff, and delay × factor^(n-1) capped by maxDelaySeconds with one", () => {
    expect(retryDelayMs({}, 3)).toBe(0);
    const spec = {
      retryPolicy: { infraRetryLimit: 3, backoff: { delaySeconds: 10, factor: 2, maxDelaySeconds: 60 } },
    };
    expect([1, 2, 3, 4, 5, 200].map((n) => retryDelayMs(spec, n))).toEqual([
      10_000, 20_000, 40_000, 60_000, 60_000, 60_000,
    ]);
    const constant = {
      retryPolicy: { infraRetryLimit: 3, backoff: { delaySeconds: 7, factor: 1, maxDelaySeconds: 60 } },
    };
    expect([1, 4].map((n) => retryDelayMs(constant, n))).toEqual([7_000, 7_000]);
  });
});

describe("decide with retryPolicy.backoff", () => {
  it("without a backoff the next attempt is submitted at once (as before)", () => {
    const { recorded, decideAt } = setup({ backoffLimit: 5 });
    const d = decideAt(at(0.1), recorded(failures(0)));
    expect(d).toMatchObject({ step: { op: "submit", why: "retry" }, attempt: 2 });
    expect(d.backoff).toBeUndefined();
  });

  it("the first failure waits delaySeconds from the replica's end, then the next attempt is submitted", () => {
    const { recorded, decideAt } = setup(backoff({ delaySeconds: 10 }));
    const waiting = decideAt(at(3), recorded(failures(0)));
    expect(waiting).toMatchObject({
      step: { op: "none" },
      attempt: 1,
      outcome: undefined,
      backoff: { retryAt: "2026-01-01T12:00:10.000Z", attempt: 2 },
      wakeInMs: 7_000,
      ended: { attempt: 1, counted: "user", completionTime: FAILED_AT },
    });
    const due = decideAt(at(10), recorded(failures(0)));
    expect(due).toMatchObject({ step: { op: "submit", why: "retry" }, attempt: 2 });
    expect(due.backoff).toBeUndefined();
  });

  it("the wait doubles with each failure charged to a budget, up to maxDelaySeconds", () => {
    const { recorded, decideAt } = setup(backoff({ delaySeconds: 10, maxDelaySeconds: 30 }));
    expect(decideAt(at(0), recorded(failures(1))).backoff?.retryAt).toBe("2026-01-01T12:00:20.000Z");
    expect(decideAt(at(0), recorded(failures(2))).backoff?.retryAt).toBe("2026-01-01T12:00:30.000Z");
    expect(decideAt(at(0), recorded(failures(4))).backoff?.retryAt).toBe("2026-01-01T12:00:30.000Z");
  });

  it("an attempt its queue preempted is no failure: it does not lengthen the wait", () => {
    const { recorded, decideAt } = setup(backoff({ delaySeconds: 10 }));
    const preempted = [
      {
        attempt: 1,
        startTime: "2026-01-01T10:00:00Z",
        completionTime: "2026-01-01T10:30:00Z",
        counted: "infra" as const,
        preemptedBy: "default/high",
      },
      { attempt: 2, startTime: "2026-01-01T11:00:00Z" },
    ];
    expect(decideAt(at(0), recorded(preempted)).backoff?.retryAt).toBe("2026-01-01T12:00:10.000Z");
  });

  it("counts from the end the status recorded, reconcile after reconcile, and charges the failure once", () => {
    const { recorded, decideAt, observed } = setup({ ...backoff({ delaySeconds: 10 }), backoffLimit: 1 });
    // The replica reports no end time: the first reconcile's time is recorded as the attempt's end.
    const { finishedAt: _, ...noEnd } = failedReplica();
    const seen = observed(1, [noEnd]);
    const first = decideAt(at(2), recorded(failures(0)), seen);
    expect(first.backoff?.retryAt).toBe("2026-01-01T12:00:12.000Z");
    const attempts = attemptsAfter(recorded(failures(0)).attempts, first, at(2));
    expect(attempts).toEqual([
      expect.objectContaining({ attempt: 1, completionTime: "2026-01-01T12:00:02.000Z", counted: "user" }),
    ]);
    // Later reconciles (a resync, the wake-up) read that end: the retry is not pushed back, and the
    // one failure is not counted twice against backoffLimit 1.
    const again = decideAt(at(8), recorded(attempts), seen);
    expect(again).toMatchObject({ step: { op: "none" }, backoff: { retryAt: "2026-01-01T12:00:12.000Z" } });
    expect(decideAt(at(12), recorded(attempts), seen)).toMatchObject({
      step: { op: "submit", why: "retry" },
      attempt: 2,
      outcome: undefined,
    });
  });

  it("a dead job collected meanwhile (Nomad's GC, nomad system gc) is not a removal: the wait goes on", () => {
    const { recorded, decideAt } = setup(backoff({ delaySeconds: 10 }));
    const record = recorded(FAILED_ONCE);
    const gone = { ...decideAt(at(4), record, null) };
    expect(gone).toMatchObject({
      step: { op: "none" },
      attempt: 1,
      backoff: { attempt: 2 },
      wakeInMs: 6_000,
    });
    expect(gone.ended).toBeUndefined();
    expect(decideAt(at(10), record, null)).toMatchObject({
      step: { op: "submit", why: "retry" },
      attempt: 2,
    });
  });

  it("the deadline still applies while waiting: the run fails and its other replicas are stopped", () => {
    const spec = {
      ...backoff({ delaySeconds: 600, maxDelaySeconds: 3600 }),
      replicas: 2,
      activeDeadlineSeconds: 3900,
    };
    const { recorded, decideAt, observed } = setup(spec);
    const seen = observed(1, [replica(0, "running"), failedReplica({ index: 1 })]);
    const record = recorded(failures(0));
    const before = decideAt(at(60), record, seen);
    expect(before).toMatchObject({ step: { op: "none" }, backoff: { attempt: 2 } });
    expect(before.wakeInMs).toBe(240_000); // the deadline (12:05) comes before the retry (12:10)
    const late = decideAt(at(330), record, seen);
    expect(late).toMatchObject({
      step: { op: "stop", why: "failed" },
      outcome: { reason: "DeadlineExceeded" },
    });
  });

  it("suspended while waiting: no retry; resumed, the recorded failure is retried, not judged again", () => {
    const waits = backoff({ delaySeconds: 10 });
    const spec = { ...waits, replicas: 2, retryPolicy: { ...waits.retryPolicy, infraRetryLimit: 0 } };
    const { recorded, decideAt, observed } = setup({ ...spec, suspend: true });
    const record = recorded(FAILED_ONCE);
    const others = observed(1, [replica(0, "running"), failedReplica({ index: 1 })]);
    expect(decideAt(at(2), record, others)).toMatchObject({
      step: { op: "stop", why: "suspend" },
      attempt: 1,
    });
    // Resumed: the suspend stopped replica 0 (a platform's reason, and infraRetryLimit is 0); the
    // failure that counts is the one recorded, the code's.
    const resumed = setup(spec);
    const stopped = {
      ...resumed.observed(1, [failedReplica({ reason: "Stopped" }), failedReplica({ index: 1 })]),
      stopped: true,
    };
    expect(resumed.decideAt(at(4), record, stopped)).toMatchObject({
      step: { op: "none" },
      backoff: { attempt: 2 },
    });
    expect(resumed.decideAt(at(10), record, stopped)).toMatchObject({
      step: { op: "submit", why: "retry" },
      attempt: 2,
      outcome: undefined,
    });
  });

  it("a failure past the budget still fails the run at once", () => {
    const { recorded, decideAt } = setup({ ...backoff({ delaySeconds: 10 }), backoffLimit: 1 });
    const d = decideAt(at(0), recorded(failures(1)));
    expect(d.outcome).toMatchObject({ outcome: "Failed", reason: "BackoffLimitExceeded" });
    expect(d.backoff).toBeUndefined();
  });

  it("status: Pending, reason RetryBackoff, naming the failure and when the next attempt starts", () => {
    const { job, recorded, decideAt } = setup(backoff({ delaySeconds: 10 }));
    const decision = decideAt(at(3), recorded(failures(0)));
    const status = statusFrom({ job, now: at(3), revision: undefined, decision, run: recorded(failures(0)) });
    expect(status.phase).toBe("Pending");
    expect(status.conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "False",
      reason: "RetryBackoff",
      message:
        "replica 0 failed with exit code 1 in attempt 1; attempt 2 starts at 2026-01-01T12:00:10.000Z (retryPolicy.backoff)",
    });
  });
});

describe("retryPolicy.backoff in a document", () => {
  const doc = (backoffField: unknown) => ({
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingJob",
    metadata: { name: "train" },
    spec: {
      image: "trainer:1",
      resources: { cpu: 100, memoryMB: 64 },
      retryPolicy: { backoff: backoffField },
    },
  });

  it("defaults factor to 2 and maxDelaySeconds to 360", () => {
    const checked = validateDocument(doc({ delaySeconds: 10 }));
    expect(checked.ok && checked.resource.spec).toMatchObject({
      retryPolicy: { backoff: { delaySeconds: 10, factor: 2, maxDelaySeconds: 360 } },
    });
  });

  it("refuses a backoff without delaySeconds, or out of range, naming the field", () => {
    for (const [field, path] of [
      [{}, "delaySeconds"],
      [{ delaySeconds: 0 }, "delaySeconds"],
      [{ delaySeconds: 10, factor: 0 }, "factor"],
      [{ delaySeconds: 10, maxDelaySeconds: 86_400 }, "maxDelaySeconds"],
    ] as const) {
      const checked = validateDocument(doc(field));
      expect(checked.ok).toBe(false);
      expect(JSON.stringify(checked.ok ? [] : checked.issues)).toContain(path);
    }
  });
});

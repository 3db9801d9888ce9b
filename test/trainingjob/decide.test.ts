import { describe, expect, it } from "vitest";
import type { RunRecord } from "../../src/trainingjob/decide.ts";
import { decide } from "../../src/trainingjob/decide.ts";
import { runIdFor, runSpecHash, specHash } from "../../src/trainingjob/hash.ts";
import { observedRun, replica, trainingJob } from "./builders.ts";

const NOW = new Date("2026-01-01T12:00:00Z");
const KEY = "TrainingJob/default/train";

function input(
  spec: Parameters<typeof trainingJob>[0],
  extra: {
    recorded?: RunRecord;
    observed?: ReturnType<typeof observedRun>;
    generation?: number;
    now?: Date;
  } = {},
) {
  const job = trainingJob(spec, extra.generation ?? 1);
  return {
    key: KEY,
    spec: job.spec,
    generation: job.metadata.generation,
    specHash: specHash(job.spec),
    runSpecHash: runSpecHash(job.spec),
    recorded: extra.recorded,
    observed: extra.observed,
    ownerId: "owner-a",
    now: extra.now ?? NOW,
    startupTimeoutMs: 600_000,
  };
}

const base = input({});
const RUN = runIdFor(KEY, 1, base.runSpecHash);
const recordedRun: RunRecord = {
  id: RUN,
  generation: 1,
  specHash: base.runSpecHash,
  startTime: "2026-01-01T11:00:00Z",
};
/** A run record whose first `n` attempts failed (counted as `counted`); attempt n + 1 runs. */
const afterFailures = (record: RunRecord, n: number, counted: "user" | "infra"): RunRecord => ({
  ...record,
  attempts: [
    ...Array.from({ length: n }, (_, i) => ({
      attempt: i + 1,
      startTime: "2026-01-01T11:00:00Z",
      completionTime: "2026-01-01T11:01:00Z",
      counted,
    })),
    { attempt: n + 1, startTime: "2026-01-01T11:02:00Z" },
  ],
});
const running = observedRun({
  runId: RUN,
  specHash: base.specHash,
  runSpecHash: base.runSpecHash,
  replicas: [replica(0, "running")],
});

describe("decide", () => {
  const cases: {
    name: string;
    in: ReturnType<typeof input>;
    op: string;
    why?: string;
    outcome?: string;
    reason?: string;
    newRun?: boolean;
  }[] = [
    { name: "a new job is created", in: input({}), op: "submit", why: "create", newRun: true },
    {
      name: "a converged running job needs nothing",
      in: input({}, { recorded: recordedRun, observed: running }),
      op: "none",
    },
    {
      name: "a run submitted before a crash but never recorded is adopted, not run twice",
      in: input({}, { observed: running }),
      op: "none",
      newRun: false,
    },
    {
      name: "an unfinished run purged by hand is submitted again (self-heal)",
      in: input({}, { recorded: recordedRun }),
      op: "submit",
      why: "repair",
      newRun: false,
    },
    {
      name: "an unfinished run stopped by hand is resumed",
      in: input({}, { recorded: recordedRun, observed: { ...running, stopped: true, replicas: [] } }),
      op: "submit",
      why: "resume",
    },
    {
      name: "a finished run whose job was garbage-collected is never re-created",
      in: input(
        {},
        { recorded: { ...recordedRun, outcome: "Succeeded", completionTime: "2026-01-01T11:30:00Z" } },
      ),
      op: "none",
      outcome: "Succeeded",
    },
    {
      name: "all replicas complete: succeeded",
      in: input(
        {},
        {
          recorded: recordedRun,
          observed: { ...running, replicas: [replica(0, "succeeded", { exitCode: 0 })] },
        },
      ),
      op: "none",
      outcome: "Succeeded",
    },
    {
      name: "a replica failing after backoffLimit retries fails the run and stops the others",
      in: input(
        { replicas: 2 },
        {
          recorded: afterFailures(
            { ...recordedRun, specHash: runSpecHash(trainingJob({ replicas: 2 }).spec), id: "r2" },
            3,
            "user",
          ),
          observed: observedRun({
            runId: "r2",
            specHash: specHash(trainingJob({ replicas: 2 }).spec),
            runSpecHash: runSpecHash(trainingJob({ replicas: 2 }).spec),
            replicas: [
              replica(0, "running"),
              replica(1, "failed", { exitCode: 3, restarts: 3, exhausted: true }),
            ],
          }),
        },
      ),
      op: "stop",
      why: "failed",
      outcome: "Failed",
      reason: "BackoffLimitExceeded",
    },
    {
      name: "an OOM kill is the failure reason",
      in: input(
        {},
        {
          recorded: afterFailures(recordedRun, 3, "user"),
          observed: {
            ...running,
            replicas: [replica(0, "failed", { exitCode: 137, reason: "OOMKilled", exhausted: true })],
          },
        },
      ),
      op: "none",
      outcome: "Failed",
      reason: "OOMKilled",
    },
    {
      name: "a failing replica that will be retried is not a failure yet",
      in: input(
        {},
        {
          recorded: recordedRun,
          observed: { ...running, replicas: [replica(0, "failed", { exitCode: 1, exhausted: false })] },
        },
      ),
      op: "none",
    },
    {
      name: "the deadline passed: stop and fail",
      in: input(
        { activeDeadlineSeconds: 60 },
        {
          recorded: {
            ...recordedRun,
            specHash: runSpecHash(trainingJob({ activeDeadlineSeconds: 60 }).spec),
          },
          observed: { ...running, specHash: specHash(trainingJob({ activeDeadlineSeconds: 60 }).spec) },
        },
      ),
      op: "stop",
      outcome: "Failed",
      reason: "DeadlineExceeded",
    },
    {
      name: "suspend stops a running run",
      in: input({ suspend: true }, { recorded: recordedRun, observed: running }),
      op: "stop",
      why: "suspend",
    },
    {
      name: "an in-place field change updates the live run (same run id)",
      in: input({ priority: 70 }, { recorded: recordedRun, observed: running }),
      op: "submit",
      why: "update",
      newRun: false,
    },
    {
      name: "a run-defining change starts a new run replacing the old one",
      in: input({ image: "trainer:2" }, { recorded: recordedRun, observed: running, generation: 2 }),
      op: "submit",
      why: "replace",
      newRun: true,
    },
    {
      name: "a job owned by another operator is left alone",
      in: input({}, { observed: { ...running, ownerId: "owner-b" } }),
      op: "none",
    },
    {
      name: "TTL after finishing purges the job",
      in: input(
        { ttlSecondsAfterFinished: 60 },
        {
          recorded: { ...recordedRun, outcome: "Succeeded", completionTime: "2026-01-01T11:00:00Z" },
          observed: { ...running, replicas: [replica(0, "succeeded")] },
        },
      ),
      op: "purge",
      outcome: "Succeeded",
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = decide(c.in);
      expect(d.step.op).toBe(c.op);
      if (c.why) expect((d.step as { why: string }).why).toBe(c.why);
      expect(d.outcome?.outcome).toBe(c.outcome);
      if (c.reason) expect(d.outcome?.reason).toBe(c.reason);
      if (c.newRun !== undefined) expect(d.newRun).toBe(c.newRun);
    });
  }

  it("run ids differ per generation and are stable for one", () => {
    const a = runIdFor(KEY, 1, "h");
    expect(runIdFor(KEY, 1, "h")).toBe(a);
    expect(runIdFor(KEY, 3, "h")).not.toBe(a);
  });

  it("in-place fields do not change the run-spec hash; others do", () => {
    const h = runSpecHash(trainingJob({}).spec);
    expect(
      runSpecHash(
        trainingJob({ suspend: true, priority: 90, activeDeadlineSeconds: 5, ttlSecondsAfterFinished: 1 })
          .spec,
      ),
    ).toBe(h);
    expect(runSpecHash(trainingJob({ replicas: 2 }).spec)).not.toBe(h);
  });

  it("asks to be woken at the deadline", () => {
    const job = trainingJob({ activeDeadlineSeconds: 7200 });
    const d = decide({
      ...input({ activeDeadlineSeconds: 7200 }),
      recorded: { ...recordedRun, specHash: runSpecHash(job.spec) },
      observed: { ...running, specHash: specHash(job.spec) },
    });
    expect(d.wakeInMs).toBe(3600_000);
  });

  it("distributed runs not all started within the startup timeout fail with StartupTimeout", () => {
    const job = trainingJob({ replicas: 2 });
    const rsh = runSpecHash(job.spec);
    const d = decide({
      ...input({ replicas: 2 }),
      recorded: { id: "r", generation: 1, specHash: rsh, startTime: "2026-01-01T11:00:00Z" },
      observed: observedRun({
        runId: "r",
        specHash: specHash(job.spec),
        runSpecHash: rsh,
        replicas: [replica(0, "running", { startedAt: "x" }), replica(1, "pending")],
      }),
    });
    expect(d.outcome?.reason).toBe("StartupTimeout");
    expect(d.step.op).toBe("stop");
  });

  it("the startup timeout counts from the current attempt's start, not the run's", () => {
    const job = trainingJob({ replicas: 2 });
    const rsh = runSpecHash(job.spec);
    const attempts = [
      { attempt: 1, startTime: "2026-01-01T11:00:00Z", counted: "infra" as const },
      { attempt: 2, startTime: "2026-01-01T11:58:00Z" },
    ];
    const d = decide({
      ...input({ replicas: 2 }),
      recorded: { id: "r", generation: 1, specHash: rsh, startTime: "2026-01-01T11:00:00Z", attempts },
      observed: observedRun({
        runId: "r",
        specHash: specHash(job.spec),
        runSpecHash: rsh,
        attempt: 2,
        replicas: [replica(0, "running", { startedAt: "x" }), replica(1, "pending")],
      }),
    });
    expect(d.outcome).toBeUndefined();
    expect(d.attempt).toBe(2);
    expect(d.wakeInMs).toBe(8 * 60_000); // 10 min from 11:58
  });
});

describe("decide: an attempt its queue preempted", () => {
  const preemptedRecord: RunRecord = {
    ...recordedRun,
    attempts: [
      { attempt: 1, startTime: "2026-01-01T11:00:00Z", completionTime: "2026-01-01T11:30:00Z" },
      {
        attempt: 2,
        startTime: "2026-01-01T11:31:00Z",
        completionTime: "2026-01-01T11:40:00Z",
        reason: "Preempted",
        counted: "infra",
        preemptedBy: "default/high",
      },
    ],
  };
  const stopped = observedRun({
    runId: RUN,
    specHash: base.specHash,
    runSpecHash: base.runSpecHash,
    attempt: 2,
    stopped: true,
    replicas: [{ ...replica(0, "failed"), exhausted: false, reason: "Stopped" }],
  });
  const table: {
    name: string;
    spec?: Parameters<typeof trainingJob>[0];
    observed?: typeof stopped;
    want: unknown;
  }[] = [
    {
      name: "stopped: the next attempt is submitted (once its queue admits it)",
      observed: stopped,
      want: { step: { op: "submit", why: "requeue" }, attempt: 3, outcome: undefined },
    },
    {
      name: "its job gone (garbage-collected): the next attempt, not a removal",
      want: { step: { op: "submit", why: "requeue" }, attempt: 3 },
    },
    {
      name: "suspended meanwhile: nothing is submitted",
      spec: { suspend: true },
      observed: stopped,
      want: { step: { op: "none" }, attempt: 2 },
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      const d = decide({ ...input(t.spec ?? {}), recorded: preemptedRecord, observed: t.observed });
      expect(d).toMatchObject(t.want as object);
    });
  }

  it("is charged to no budget: a later platform failure still has infraRetryLimit 1 left", () => {
    const spec = { retryPolicy: { infraRetryLimit: 1 } };
    const record: RunRecord = {
      ...preemptedRecord,
      specHash: input(spec).runSpecHash,
      attempts: [...(preemptedRecord.attempts ?? []), { attempt: 3, startTime: "2026-01-01T11:50:00Z" }],
    };
    const lost = observedRun({
      runId: RUN,
      specHash: base.specHash,
      runSpecHash: base.runSpecHash,
      attempt: 3,
      replicas: [{ ...replica(0, "failed"), reason: "NodeLost", exhausted: true }],
    });
    const d = decide({ ...input(spec), recorded: record, observed: lost });
    expect(d).toMatchObject({ step: { op: "submit", why: "retry" }, attempt: 4, outcome: undefined });
  });
});

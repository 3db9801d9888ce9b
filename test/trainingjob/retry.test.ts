// Retries the operator owns: which budget each failure counts against (every reason the Nomad and
// Docker schedulers report), and what decide() does with the budgets, attempt by attempt.
import { describe, expect, it } from "vitest";
import type { TrainingJobSpec } from "../../src/api/generated/types.ts";
import { FAILURE_REASONS } from "../../src/scheduler/port.ts";
import { attemptsAfter, restartsOf } from "../../src/trainingjob/attempts.ts";
import { decide, type RunRecord } from "../../src/trainingjob/decide.ts";
import { runIdFor, runSpecHash, specHash } from "../../src/trainingjob/hash.ts";
import { REASONS } from "../../src/trainingjob/model.ts";
import { classify, FAILURE_CLASSES } from "../../src/trainingjob/retry.ts";
import { observedRun, replica, trainingJob } from "./builders.ts";

describe("classify: every reason a scheduler reports → user or infra", () => {
  const table: [reason: string, counted: "user" | "infra", retry: boolean][] = [
    ["Error", "user", true],
    ["OOMKilled", "user", true],
    ["SiblingTaskFailed", "user", true],
    ["ArtifactDownloadFailed", "user", true],
    ["ImageNotFound", "user", false],
    ["InvalidTaskConfig", "user", false],
    ["CreateContainerError", "user", false],
    ["RunContainerError", "user", false],
    ["DeadlineExceeded", "user", false],
    ["NodeLost", "infra", true],
    ["Preempted", "infra", true],
    ["DriverFailure", "infra", true],
    ["SetupFailure", "infra", true],
    ["ContainerRemoved", "infra", true],
    ["DaemonRestarted", "infra", true],
    ["Stopped", "infra", true],
    ["SomethingNew", "user", true],
  ];
  it.each(table)("%s → %s (retry %s)", (reason, counted, retry) => {
    expect(classify({ reason }, {})).toEqual({ counted, retry });
  });

  it("the table covers every failure reason of the scheduler port", () => {
    expect(Object.keys(FAILURE_CLASSES).sort()).toEqual([...FAILURE_REASONS].sort());
    for (const reason of FAILURE_REASONS) expect(table.map(([r]) => r)).toContain(reason);
  });

  const lists = { retryPolicy: { infraRetryLimit: 3, retryOnExitCodes: [137], failOnExitCodes: [3] } };
  it.each([
    [
      { reason: "Error", exitCode: 3 },
      { counted: "user", retry: false, rule: "failOnExitCodes" },
    ],
    [
      { reason: "Error", exitCode: 137 },
      { counted: "user", retry: true, rule: "retryOnExitCodes" },
    ],
    [
      { reason: "ImageNotFound", exitCode: 137 },
      { counted: "user", retry: true, rule: "retryOnExitCodes" },
    ],
    [
      { reason: "Error", exitCode: 1 },
      { counted: "user", retry: true },
    ],
    [{ reason: "NodeLost" }, { counted: "infra", retry: true }],
  ])("exit code lists: %o → %o", (failure, expected) => {
    expect(classify(failure, lists)).toEqual(expected);
  });
});

const NOW = new Date("2026-01-01T12:00:00Z");
const KEY = "TrainingJob/default/train";

function step(
  spec: Partial<TrainingJobSpec>,
  history: ("user" | "infra")[],
  failed: Parameters<typeof replica>[2],
) {
  const job = trainingJob(spec);
  const hashes = { specHash: specHash(job.spec), runSpecHash: runSpecHash(job.spec) };
  const id = runIdFor(KEY, 1, hashes.runSpecHash);
  const attempt = history.length + 1;
  const recorded: RunRecord = {
    id,
    generation: 1,
    specHash: hashes.runSpecHash,
    startTime: "2026-01-01T11:00:00Z",
    attempts: [
      ...history.map((counted, i) => ({ attempt: i + 1, startTime: "2026-01-01T11:00:00Z", counted })),
      { attempt, startTime: "2026-01-01T11:10:00Z" },
    ],
  };
  const observed = observedRun({
    runId: id,
    ...hashes,
    attempt,
    replicas: [replica(0, "failed", { exhausted: true, ...failed })],
  });
  return decide({
    key: KEY,
    spec: job.spec,
    generation: 1,
    ...hashes,
    recorded,
    observed,
    ownerId: "owner-a",
    now: NOW,
    startupTimeoutMs: 600_000,
  });
}

describe("budgets: backoffLimit counts the code's failures only, infraRetryLimit the platform's", () => {
  const user = "user" as const;
  const infra = "infra" as const;
  const cases: {
    name: string;
    spec: Partial<TrainingJobSpec>;
    history: ("user" | "infra")[];
    failed: Parameters<typeof replica>[2];
    retry?: number;
    reason?: string;
  }[] = [
    {
      name: "first code failure, budget 3: retried",
      spec: {},
      history: [],
      failed: { exitCode: 1, reason: "Error" },
      retry: 2,
    },
    {
      name: "4th code failure, backoffLimit 3: failed",
      spec: {},
      history: [user, user, user],
      failed: { exitCode: 1, reason: "Error" },
      reason: "BackoffLimitExceeded",
    },
    {
      name: "infra failures do not use backoffLimit",
      spec: { backoffLimit: 0 },
      history: [infra, infra],
      failed: { reason: "NodeLost" },
      retry: 4,
    },
    {
      name: "code failure with backoffLimit 0 after infra ones: failed",
      spec: { backoffLimit: 0 },
      history: [infra, infra],
      failed: { exitCode: 2, reason: "Error" },
      reason: "BackoffLimitExceeded",
    },
    {
      name: "4th lost allocation, infraRetryLimit 3 (default): failed",
      spec: {},
      history: [infra, infra, infra],
      failed: { reason: "NodeLost" },
      reason: "InfraRetryLimitExceeded",
    },
    {
      name: "user failures do not use infraRetryLimit",
      spec: { retryPolicy: { infraRetryLimit: 0 } },
      history: [user, user],
      failed: { reason: "Preempted" },
      reason: "InfraRetryLimitExceeded",
    },
    {
      name: "infraRetryLimit 5: 5th lost allocation retried",
      spec: { retryPolicy: { infraRetryLimit: 5 } },
      history: [infra, infra, infra, infra],
      failed: { reason: "NodeLost" },
      retry: 6,
    },
    {
      name: "failOnExitCodes: failed at once, budgets untouched",
      spec: { retryPolicy: { infraRetryLimit: 3, failOnExitCodes: [3] } },
      history: [],
      failed: { exitCode: 3, reason: "Error" },
      reason: "FailOnExitCode",
    },
    {
      name: "retryOnExitCodes retry an exit code within backoffLimit",
      spec: { retryPolicy: { infraRetryLimit: 3, retryOnExitCodes: [137] } },
      history: [],
      failed: { exitCode: 137, reason: "OOMKilled" },
      retry: 2,
    },
    {
      name: "an image that does not exist is not retried",
      spec: {},
      history: [],
      failed: { reason: "ImageNotFound" },
      reason: "ImageNotFound",
    },
    {
      name: "OOM with backoffLimit used up keeps its reason",
      spec: { backoffLimit: 1 },
      history: [user],
      failed: { exitCode: 137, reason: "OOMKilled" },
      reason: "OOMKilled",
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = step(c.spec, c.history, c.failed);
      expect(d.ended?.attempt).toBe(c.history.length + 1);
      if (c.retry !== undefined) {
        expect(d.step).toEqual({ op: "submit", why: "retry" });
        expect(d.attempt).toBe(c.retry);
        expect(d.outcome).toBeUndefined();
      } else {
        expect(d.outcome?.outcome).toBe("Failed");
        expect(d.outcome?.reason).toBe(c.reason);
        expect(d.attempt).toBe(c.history.length + 1);
      }
    });
  }

  it("every outcome reason is a Failed reason of the kind's table", () => {
    const failed = REASONS.Failed as readonly string[];
    for (const c of cases) if (c.reason) expect(failed).toContain(c.reason);
  });
});

describe("removed outside the operator: a platform failure", () => {
  function removed(history: ("user" | "infra")[], spec: Partial<TrainingJobSpec> = {}) {
    const job = trainingJob(spec);
    const hashes = { specHash: specHash(job.spec), runSpecHash: runSpecHash(job.spec) };
    const attempt = history.length + 1;
    return decide({
      key: KEY,
      spec: job.spec,
      generation: 1,
      ...hashes,
      recorded: {
        id: runIdFor(KEY, 1, hashes.runSpecHash),
        generation: 1,
        specHash: hashes.runSpecHash,
        startTime: "2026-01-01T11:00:00Z",
        attempts: [
          ...history.map((counted, i) => ({ attempt: i + 1, startTime: "2026-01-01T11:00:00Z", counted })),
          { attempt, startTime: "2026-01-01T11:10:00Z" },
        ],
      },
      observed: undefined,
      ownerId: "owner-a",
      now: NOW,
      startupTimeoutMs: 600_000,
    });
  }

  it("is submitted again as the next attempt, counted as infra", () => {
    const d = removed(["user"]);
    expect(d.step).toEqual({ op: "submit", why: "repair" });
    expect(d.attempt).toBe(3);
    expect(d.ended).toMatchObject({ attempt: 2, counted: "infra", reason: "Removed" });
  });

  it("past infraRetryLimit the run fails", () => {
    const d = removed(["infra"], { retryPolicy: { infraRetryLimit: 1 } });
    expect(d.step).toEqual({ op: "none" });
    expect(d.outcome).toMatchObject({ outcome: "Failed", reason: "InfraRetryLimitExceeded" });
  });
});

describe("attemptsAfter: status.run.attempts, one entry per attempt", () => {
  it("ends the failed attempt with its exit code, reason and budget, and starts the next", () => {
    const d = step({}, [], { exitCode: 1, reason: "Error", finishedAt: "2026-01-01T11:20:00Z" });
    const attempts = attemptsAfter([{ attempt: 1, startTime: "2026-01-01T11:10:00Z" }], d, NOW);
    expect(attempts).toEqual([
      {
        attempt: 1,
        startTime: "2026-01-01T11:10:00Z",
        completionTime: "2026-01-01T11:20:00Z",
        exitCode: 1,
        reason: "Error",
        message: expect.stringContaining("replica 0 failed with exit code 1 in attempt 1"),
        counted: "user",
      },
      { attempt: 2, startTime: NOW.toISOString() },
    ]);
    // idempotent: the same decision again writes nothing new
    expect(attemptsAfter(attempts, d, NOW)).toEqual(attempts);
    expect(restartsOf(attempts)).toEqual({ user: 1, infra: 0 });
  });

  it("RESTARTS counts only failures that were retried, per budget", () => {
    const at = (attempt: number, counted?: "user" | "infra") => ({
      attempt,
      startTime: "2026-01-01T11:00:00Z",
      ...(counted ? { counted } : {}),
    });
    expect(restartsOf([at(1, "infra"), at(2, "infra"), at(3, "user"), at(4, "user")])).toEqual({
      user: 1,
      infra: 2,
    });
    expect(restartsOf(undefined)).toEqual({ user: 0, infra: 0 });
  });
});

import { describe, expect, it } from "vitest";
import { LABEL } from "../../src/clients/docker/labels.ts";
import { observedFrom, replicaOf } from "../../src/scheduler/docker/observe.ts";
import { EngineOutages } from "../../src/scheduler/docker/outages.ts";
import { STOPPED_MARKER_POLICY } from "../../src/scheduler/docker/render.ts";
import { occupies } from "../../src/scheduler/port.ts";
import { container, exited, runRequest } from "./docker-fixtures.ts";

const noRetry = { Name: "no", MaximumRetryCount: 0 };

describe("replicaOf: Docker state → replica state", () => {
  it.each([
    ["running", {}, {}, { state: "running", reason: "Running" }],
    [
      "restarting after exit 1",
      { state: { Status: "restarting", Restarting: true, ExitCode: 1 } },
      {},
      { state: "running", reason: "Restarting", exitCode: 1 },
    ],
    [
      "created, not started",
      { state: { Status: "created", Running: false, StartedAt: "0001-01-01T00:00:00Z" } },
      {},
      { state: "pending", reason: "Created" },
    ],
    [
      "start failed",
      { state: { Status: "created", Running: false, Error: 'exec: "nope": not found', ExitCode: 127 } },
      {},
      { state: "failed", exhausted: true, reason: "RunContainerError", exitCode: 127 },
    ],
    ["exit 0", { state: exited(0) }, {}, { state: "succeeded", reason: "Completed", exitCode: 0 }],
    [
      "exit 3 with retries used up",
      { state: exited(3), restartCount: 2 },
      {},
      { state: "failed", exhausted: true, reason: "Error", exitCode: 3, restarts: 2 },
    ],
    [
      "exit 3, backoffLimit 0",
      { state: exited(3), policy: noRetry },
      {},
      { state: "failed", exhausted: true, reason: "Error" },
    ],
    [
      "OOM killed, retries used up",
      { state: exited(137, { OOMKilled: true }), restartCount: 2 },
      {},
      { state: "failed", exhausted: true, reason: "OOMKilled", exitCode: 137 },
    ],
    [
      "stopped by hand (retries left, Docker declined)",
      { state: exited(137), restartCount: 0 },
      {},
      { state: "failed", exhausted: false, reason: "Stopped" },
    ],
    [
      "stopped by the operator (marker), even exit 0",
      { state: exited(0), policy: STOPPED_MARKER_POLICY },
      { why: "Suspended" },
      { state: "failed", exhausted: false, reason: "Suspended" },
    ],
    [
      "created then stop-marked",
      { state: { Status: "created", Running: false }, policy: STOPPED_MARKER_POLICY },
      {},
      { state: "failed", exhausted: false, reason: "Stopped" },
    ],
  ] as const)("%s", (_name, options, memo, expected) => {
    const c = container(options as Parameters<typeof container>[0]);
    expect(replicaOf(c, 0, (memo as { why?: string }).why)).toMatchObject(expected);
  });

  it("reports start and finish times to the millisecond, as the operator's own, never Docker's zero time", () => {
    const r = replicaOf(container({ state: exited(0) }), 0, undefined);
    expect(r.startedAt).toBe("2026-11-26T10:00:01.000Z");
    expect(r.finishedAt).toBe("2026-11-26T10:05:00.000Z");
    const precise = { ...exited(3), FinishedAt: "2026-12-08T01:32:29.289240975Z" };
    expect(replicaOf(container({ state: precise }), 0, undefined).finishedAt).toBe(
      "2026-12-08T01:32:29.289Z",
    );
    expect(replicaOf(container(), 0, undefined).finishedAt).toBeUndefined();
  });
});

describe("replicaOf: an exit while the engine was away is the engine's restart (DaemonRestarted)", () => {
  const finishedAt = Date.parse("2026-11-26T10:05:00Z");
  const away = (from: number, to?: number): EngineOutages => {
    const outages = new EngineOutages();
    outages.lost(from);
    if (to !== undefined) outages.back(to);
    return outages;
  };

  it.each([
    [
      "SIGTERM inside a closed window",
      143,
      {},
      away(finishedAt - 1_000, finishedAt + 4_000),
      "DaemonRestarted",
    ],
    [
      "SIGKILL after the stop timeout",
      137,
      {},
      away(finishedAt - 12_000, finishedAt + 1_000),
      "DaemonRestarted",
    ],
    [
      "the engine still away (observed before the stream is back)",
      143,
      {},
      away(finishedAt - 500),
      "DaemonRestarted",
    ],
    [
      "an exit a minute before the engine went",
      1,
      {},
      away(finishedAt + 60_000, finishedAt + 70_000),
      "Error",
    ],
    ["an exit after the engine was back", 143, {}, away(finishedAt - 70_000, finishedAt - 60_000), "Error"],
    [
      "killed for memory within the window",
      137,
      { OOMKilled: true },
      away(finishedAt - 1_000, finishedAt + 1_000),
      "OOMKilled",
    ],
    ["no outage seen", 143, {}, new EngineOutages(), "Error"],
  ] as const)("%s → %s", (_name, code, extra, outages, reason) => {
    const r = replicaOf(container({ state: exited(code, extra), policy: noRetry }), 0, undefined, outages);
    expect(r).toMatchObject({ state: "failed", exhausted: true, reason, exitCode: code });
    if (reason === "DaemonRestarted") expect(r.message).toMatch(/while the Docker engine was away/);
  });

  it("an exit 0 inside the window is still a success", () => {
    const r = replicaOf(
      container({ state: exited(0) }),
      0,
      undefined,
      away(finishedAt - 1_000, finishedAt + 1_000),
    );
    expect(r).toMatchObject({ state: "succeeded", reason: "Completed" });
  });

  it("keeps the newest 32 windows and ignores a second lost while one is open", () => {
    const outages = new EngineOutages();
    outages.lost(finishedAt - 1_000);
    outages.lost(finishedAt + 50_000); // still away: the open window stays as it was
    outages.back(finishedAt + 1_000);
    expect(outages.covering(new Date(finishedAt).toISOString())).toEqual({
      from: finishedAt - 1_000,
      to: finishedAt + 1_000,
    });
    for (let i = 1; i <= 32; i++) {
      outages.lost(finishedAt + i * 100_000);
      outages.back(finishedAt + i * 100_000 + 1_000);
    }
    expect(outages.covering(new Date(finishedAt).toISOString())).toBeUndefined();
    expect(outages.covering(new Date(finishedAt + 3_200_000).toISOString())).toBeDefined();
  });
});

describe("observedFrom: containers of a key → ObservedRun", () => {
  const run = runRequest({}, { replicas: 2 });

  it("is undefined when nothing exists and nothing is remembered", () => {
    expect(observedFrom([], "owner-a", undefined)).toBeUndefined();
  });

  it("reads identity from the labels and the earliest start", () => {
    const a = container({ run, replica: 0, state: { StartedAt: "2026-11-26T10:00:02Z" } });
    const b = container({ run, replica: 1, state: { StartedAt: "2026-11-26T10:00:01Z" } });
    const observed = observedFrom([b, a], "owner-a", undefined);
    expect(observed).toMatchObject({
      ownerId: "owner-a",
      runId: "g1-aaaa",
      generation: 1,
      specHash: "spec-1",
      runSpecHash: "run-1",
      stopped: false,
      startTime: "2026-11-26T10:00:01.000Z",
    });
    expect(observed?.replicas.map((r) => r.index)).toEqual([0, 1]);
  });

  it("is stopped only when no replica is active and one was stopped", () => {
    const stoppedOne = container({ run, replica: 0, state: exited(143), policy: STOPPED_MARKER_POLICY });
    const running = container({ run, replica: 1 });
    expect(observedFrom([stoppedOne, running], "owner-a", undefined)?.stopped).toBe(false);
    const stoppedTwo = container({ run, replica: 1, state: exited(0), policy: STOPPED_MARKER_POLICY });
    expect(observedFrom([stoppedOne, stoppedTwo], "owner-a", undefined)?.stopped).toBe(true);
    const done = [
      container({ run, replica: 0, state: exited(0) }),
      container({ run, replica: 1, state: exited(0) }),
    ];
    expect(observedFrom(done, "owner-a", undefined)?.stopped).toBe(false);
  });

  it("reports a replica whose container was removed by hand", () => {
    const observed = observedFrom([container({ run, replica: 1, state: exited(0) })], "owner-a", undefined);
    expect(observed?.replicas[0]).toMatchObject({
      index: 0,
      id: "",
      state: "failed",
      exhausted: true,
      reason: "ContainerRemoved",
    });
    expect(observed?.stopped).toBe(true);
  });

  it("prefers this owner's newest run; reports another owner's run with its owner id", () => {
    const old = container({ run, replica: 0, created: "2026-11-26T09:00:00Z" });
    const newer = runRequest({ runId: "g2-bbbb" });
    const fresh = container({ run: newer, replica: 0, created: "2026-11-26T11:00:00Z" });
    expect(observedFrom([old, fresh], "owner-a", undefined)?.runId).toBe("g2-bbbb");
    const foreign = container({ run: runRequest({ ownerId: "owner-b" }) });
    expect(observedFrom([foreign], "owner-a", undefined)?.ownerId).toBe("owner-b");
  });

  it("reports the spec hash of the last in-place update (labels cannot change)", () => {
    const memo = {
      runId: "g1-aaaa",
      generation: 1,
      specHash: "spec-2",
      runSpecHash: "run-1",
      ownerId: "owner-a",
      replicas: 2,
    };
    const observed = observedFrom(
      [container({ run, replica: 0 }), container({ run, replica: 1 })],
      "owner-a",
      memo,
    );
    expect(observed?.specHash).toBe("spec-2");
    expect(observedFrom([container({ run })], "owner-a", { ...memo, runId: "other" })?.specHash).toBe(
      "spec-1",
    );
  });

  /** What the scheduler remembers of a run no container holds. */
  const memoOf = <T extends object>(replicas: number, extra: T) => ({
    runId: "g1-aaaa",
    generation: 1,
    specHash: "spec-1",
    runSpecHash: "run-1",
    ownerId: "owner-a",
    replicas,
    ...extra,
  });

  it("reports a run whose containers could not be created from memory: ImageNotFound, exhausted", () => {
    const memo = memoOf(2, {
      failure: { reason: "ImageNotFound" as const, message: "No such image: nope:1" },
    });
    const observed = observedFrom([], "owner-a", memo);
    expect(observed?.runId).toBe("g1-aaaa");
    expect(observed?.replicas).toHaveLength(2);
    expect(observed?.replicas[1]).toMatchObject({
      state: "failed",
      exhausted: true,
      reason: "ImageNotFound",
    });
  });

  it("a run Docker could not place (no container) takes its resources until stopped, as a queue counts it", () => {
    const memo = memoOf(1, {
      blocked: { reason: "Unschedulable" as const, message: "range of CPUs is from 0.01 to 2.00" },
    });
    const blocked = observedFrom([], "owner-a", memo);
    expect(blocked).toMatchObject({ stopped: false, replicas: [], blocked: memo.blocked });
    expect(occupies(blocked)).toBe(true);
    // Stopped (preempted, suspended): nothing of it takes anything any more, and observe says so.
    const stopped = observedFrom([], "owner-a", { ...memo, stopReason: "Preempted" });
    expect(stopped?.stopped).toBe(true);
    expect(occupies(stopped)).toBe(false);
  });

  it("ignores malformed replica labels rather than crashing", () => {
    const labels = { ...container({ run }).Config.Labels, [LABEL.replica]: "x" } as Record<string, string>;
    const observed = observedFrom([container({ run, labels })], "owner-a", undefined);
    expect(observed?.replicas.every((r) => r.reason === "ContainerRemoved")).toBe(true);
  });
});

import { describe, expect, it } from "vitest";
import type {
  NomadAllocation,
  NomadEvaluation,
  NomadJob,
  NomadTaskEvent,
} from "../../src/clients/nomad/types.ts";
import { META, observeRun, renderJob } from "../../src/scheduler/nomad/index.ts";
import { failureOf } from "../../src/scheduler/nomad/observe.ts";
import { runRequest } from "../doubles/nomad/fixtures.ts";

// As Nomad writes times (RFC 3339, nanoseconds, trailing zeros trimmed); observe reports each to the
// millisecond, as the operator's own times are.
const T0 = "2026-01-01T10:00:00.123456789Z";
const T1 = "2026-01-01T10:05:00Z";
const msOf = (t: string) => new Date(t).toISOString();

function job(over: Partial<NomadJob> = {}, runVersion = 0): NomadJob {
  const j = renderJob(runRequest({ replicas: 2 }), { runVersion });
  return { ...j, Version: runVersion, Status: "running", Stop: false, JobModifyIndex: 10, ...over };
}

let n = 0;
function ev(Type: string, extra: Partial<NomadTaskEvent> = {}): NomadTaskEvent {
  return { Type, Time: ++n, DisplayMessage: "", Details: {}, ExitCode: 0, ...extra };
}

function alloc(
  index: number,
  status: NomadAllocation["ClientStatus"],
  events: NomadTaskEvent[] = [],
  over: Partial<NomadAllocation> = {},
  restarts = 0,
): NomadAllocation {
  return {
    ID: `alloc-${index}-${++n}`,
    EvalID: "e",
    Name: `resnet.train[${index}]`,
    Namespace: "team-a",
    NodeID: "node-id",
    NodeName: "node-1",
    JobID: "resnet",
    JobVersion: 0,
    TaskGroup: "train",
    DesiredStatus: "run",
    DesiredDescription: "",
    ClientStatus: status,
    ClientDescription: "",
    TaskStates: {
      main: {
        State: status === "running" ? "running" : status === "pending" ? "pending" : "dead",
        Failed: status === "failed",
        Restarts: restarts,
        StartedAt: status === "pending" ? null : T0,
        FinishedAt: status === "complete" || status === "failed" ? T1 : null,
        Events: events,
      },
    },
    FollowupEvalID: "",
    CreateIndex: n,
    ModifyIndex: n,
    CreateTime: 0,
    ModifyTime: 0,
    ...over,
  };
}

const exit = (code: number, oom = false) =>
  ev("Terminated", { ExitCode: code, Details: { exit_code: String(code), oom_killed: String(oom) } });

describe("observeRun: one replica from its allocation", () => {
  it.each<[string, NomadAllocation, Record<string, unknown>]>([
    ["pending", alloc(0, "pending", [ev("Received")]), { state: "pending", restarts: 0 }],
    [
      "running",
      alloc(0, "running", [ev("Started")]),
      { state: "running", startedAt: msOf(T0), node: "node-1" },
    ],
    [
      "complete with exit 0",
      alloc(0, "complete", [ev("Started"), exit(0)]),
      { state: "succeeded", exitCode: 0, reason: "Completed", finishedAt: msOf(T1) },
    ],
    [
      "OOM (oom_killed=true)",
      alloc(0, "failed", [ev("Started"), exit(137, true), ev("Not Restarting")]),
      {
        state: "failed",
        exitCode: 137,
        reason: "OOMKilled",
        exhausted: true,
        message: expect.stringContaining("OOM killer"),
      },
    ],
    [
      "bare 137: possibly OOM",
      alloc(0, "failed", [exit(137)]),
      { state: "failed", reason: "OOMKilled", message: expect.stringContaining("possibly") },
    ],
    [
      "non-zero exit, restarts used up",
      alloc(0, "failed", [exit(2), ev("Restarting"), ev("Started"), exit(2), ev("Not Restarting")], {}, 3),
      { state: "failed", exitCode: 2, reason: "Error", message: "exit code 2", restarts: 3, exhausted: true },
    ],
    [
      "image pull failure",
      alloc(0, "failed", [
        ev("Driver Failure", { DriverError: "Failed to pull `nope:1`: manifest unknown" }),
        ev("Not Restarting"),
      ]),
      { state: "failed", reason: "ImageNotFound", message: expect.stringContaining("manifest unknown") },
    ],
    [
      "driver failure while restarting is reported on the pending replica",
      alloc(0, "pending", [
        ev("Driver Failure", { DriverError: "Failed to pull `x`: not found" }),
        ev("Restarting"),
      ]),
      { state: "pending", reason: "ImageNotFound" },
    ],
    [
      "running again after a crash: restarts counted, last failure kept",
      alloc(0, "running", [ev("Started"), exit(1), ev("Restarting")], {}, 1),
      { state: "running", restarts: 1, reason: "Error" },
    ],
    [
      "stopped by the operator",
      alloc(0, "complete", [ev("Started"), ev("Killed")], {
        DesiredStatus: "stop",
        DesiredDescription: "alloc not needed since job was stopped",
      }),
      {
        state: "failed",
        exhausted: false,
        reason: "Stopped",
        message: "alloc not needed since job was stopped",
      },
    ],
    [
      "max_run_duration is not a success",
      alloc(0, "complete", [ev("Killed", { DisplayMessage: "allocation exceeded max_run_duration" })]),
      { state: "failed", reason: "DeadlineExceeded", exhausted: true },
    ],
    ["lost node", alloc(0, "lost"), { state: "failed", reason: "NodeLost", exhausted: true }],
    [
      "preempted (evicted for a job of higher priority): an infra failure, not a stop",
      alloc(0, "complete", [ev("Started"), ev("Killed"), exit(137)], {
        DesiredStatus: "evict",
        DesiredDescription: "Preempted by alloc ID 0b4a2a7e-5d2f-4a7e-9c61-2f4c1f0e8d11",
      }),
      {
        state: "failed",
        exhausted: true,
        reason: "Preempted",
        message: "Preempted by alloc ID 0b4a2a7e-5d2f-4a7e-9c61-2f4c1f0e8d11",
      },
    ],
  ])("%s", (_name, a, expected) => {
    const run = observeRun({ job: job(), allocations: [a] });
    expect(run.replicas).toHaveLength(1);
    expect(run.replicas[0]).toMatchObject({ index: 0, id: a.ID, ...expected });
  });
});

describe("observeRun: the run", () => {
  it("a replica that started again after a restart carries no failure reason", () => {
    const a = alloc(0, "running", [exit(1), ev("Restarting"), ev("Started")], {}, 1);
    const replica = observeRun({ job: job(), allocations: [a] }).replicas[0];
    expect(replica).toMatchObject({ state: "running", restarts: 1 });
    expect(replica).not.toHaveProperty("reason");
  });

  it("reads identity from Meta and the spec hash from its constraint", () => {
    const run = observeRun({ job: job(), allocations: [] });
    expect(run).toMatchObject({
      ownerId: "owner-1",
      runId: "run-1",
      generation: 3,
      specHash: "spec-1",
      runSpecHash: "runspec-1",
      stopped: false,
      replicas: [],
    });
  });

  it("takes the latest allocation per index (reschedules) and counts them as restarts", () => {
    const first = alloc(1, "failed", [exit(1)], { NextAllocation: "next" }, 3);
    const second = alloc(1, "running", [ev("Started")], { ID: "next", PreviousAllocation: first.ID });
    const other = alloc(0, "complete", [exit(0)]);
    const run = observeRun({ job: job(), allocations: [second, other, first] });
    expect(run.replicas.map((r) => [r.index, r.id, r.state, r.restarts])).toEqual([
      [0, other.ID, "succeeded", 0],
      [1, "next", "running", 1],
    ]);
  });

  it("a failed allocation that was rescheduled is not exhausted", () => {
    const run = observeRun({
      job: job(),
      allocations: [alloc(0, "failed", [exit(1)], { NextAllocation: "x" })],
    });
    expect(run.replicas[0]?.exhausted).toBe(false);
  });

  it("ignores allocations of earlier runs (older job versions) and of other jobs", () => {
    const old = alloc(0, "complete", [exit(0)], { JobVersion: 2 });
    const current = alloc(0, "pending", [], { JobVersion: 3 });
    const foreign = alloc(1, "running", [], { JobVersion: 3, JobID: "other" });
    const run = observeRun({ job: job({ Version: 4 }, 3), allocations: [old, current, foreign] });
    expect(run.replicas.map((r) => r.id)).toEqual([current.ID]);
  });

  it("startTime is the earliest replica start, to the millisecond; stopped follows the job's Stop", () => {
    const a = alloc(0, "running", [], {});
    const b = alloc(1, "running", [], {});
    // Nomad trims a time's trailing zeros: as text, "09:00:00.5Z" sorts before "09:00:00Z".
    const [first, second] = [a.TaskStates?.main, b.TaskStates?.main];
    if (first) first.StartedAt = "2026-01-01T09:00:00.5Z";
    if (second) second.StartedAt = "2026-01-01T09:00:00Z";
    const run = observeRun({ job: job({ Stop: true, Status: "dead" }), allocations: [a, b] });
    expect(run.startTime).toBe("2026-01-01T09:00:00.000Z");
    expect(run.replicas.map((r) => r.startedAt)).toEqual([
      "2026-01-01T09:00:00.500Z",
      "2026-01-01T09:00:00.000Z",
    ]);
    expect(run.stopped).toBe(true);
  });

  it("reports a blocked placement from the latest evaluation while replicas are missing", () => {
    const gpuJob = renderJob(runRequest({ replicas: 2, resources: { cpu: 1, memoryMB: 64, gpus: 2 } }));
    const evaluation = (CreateIndex: number, failed: NomadEvaluation["FailedTGAllocs"]): NomadEvaluation => ({
      ID: `e${CreateIndex}`,
      JobID: "resnet",
      Namespace: "team-a",
      Status: "complete",
      FailedTGAllocs: failed,
      CreateIndex,
      ModifyIndex: CreateIndex,
    });
    const metric = {
      NodesEvaluated: 3,
      NodesFiltered: 0,
      NodesExhausted: 3,
      ConstraintFiltered: null,
      DimensionExhausted: { "devices: no devices match request": 3 },
      CoalescedFailures: 1,
    };
    const run = observeRun({
      job: { ...gpuJob, Status: "pending" },
      allocations: [],
      evaluations: [evaluation(5, null), evaluation(7, { train: metric })],
    });
    const waiting = observeRun({
      job: { ...gpuJob, Status: "pending" },
      allocations: [],
      evaluations: [evaluation(7, { train: metric }), { ...evaluation(8, null), Status: "blocked" }],
    });
    expect(waiting.blocked?.reason).toBe("InsufficientResources"); // the blocked eval only waits
    expect(run.blocked?.reason).toBe("InsufficientResources");
    expect(run.blocked?.message).toContain("no node has 2 nvidia/gpu free");
    expect(run.blocked?.message).toContain("3 node(s) evaluated");
    const later = observeRun({
      job: { ...gpuJob, Status: "pending" },
      allocations: [],
      evaluations: [evaluation(9, null), evaluation(7, { train: metric })],
    });
    expect(later.blocked).toBeUndefined();
  });

  it("without owner meta the job reads as not ours", () => {
    const foreign = { ...job(), Meta: { team: "x" } };
    expect(observeRun({ job: foreign, allocations: [] }).ownerId).toBeUndefined();
    expect(META.ownerId in (foreign.Meta ?? {})).toBe(false);
  });
});

describe("failureOf: a Driver Failure is ImageNotFound only when the image could not be pulled", () => {
  // Messages as Nomad 1.9.6's docker driver emits them: drivers/docker/coordinator.go wraps pull errors
  // as "Failed to pull `<image>`: <engine error>"; drivers/docker/driver.go creates the container.
  it.each([
    [
      "Failed to pull `ghcr.io/acme/train:v9`: Error response from daemon: manifest for ghcr.io/acme/train:v9 not found: manifest unknown: manifest unknown",
      "ImageNotFound",
    ],
    [
      "Failed to pull `acme/private:1`: Error response from daemon: pull access denied for acme/private, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
      "ImageNotFound",
    ],
    ["Failed to pull `busybox:nope`: Error: image library/busybox:nope not found", "ImageNotFound"],
    [
      'Failed to pull `registry.local:5000/x:1`: Get "https://registry.local:5000/v2/": dial tcp 10.0.0.9:5000: connect: connection refused',
      "ImageNotFound",
    ],
    ["Error response from daemon: No such image: trainer:dev", "ImageNotFound"],
    [
      'Failed to create container configuration for image "trainer:dev" ("sha256:4f2a"): invalid mount config for type "bind": bind source path does not exist: /data',
      "DriverFailure",
    ],
    ["failed to create container: API error (404): network mlops-network not found", "DriverFailure"],
    [
      "failed to start container 1b2c: API error (500): failed to create task for container: OCI runtime create failed: unable to apply caps: operation not permitted",
      "DriverFailure",
    ],
  ])("%s → %s", (message, reason) => {
    expect(failureOf([ev("Driver Failure", { DriverError: message })])?.reason).toBe(reason);
  });
});

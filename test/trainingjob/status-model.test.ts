import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BLOCKED_REASONS, FAILURE_REASONS } from "../../src/scheduler/port.ts";
import { outcomeOf } from "../../src/trainingjob/decide.ts";
import {
  blockerReason,
  failedRunReason,
  PHASES,
  phaseTableMarkdown,
  REASONS,
  recordedReason,
  rowOf,
} from "../../src/trainingjob/model.ts";
import { statusFrom } from "../../src/trainingjob/status.ts";
import { observedRun, replica, trainingJob } from "./builders.ts";

describe("status model", () => {
  it("docs/status-model.md carries the same table as the code", () => {
    const doc = readFileSync(new URL("../../docs/status-model.md", import.meta.url), "utf8");
    expect(doc).toContain(phaseTableMarkdown());
  });

  it("every phase has exactly one row and Ready is True only where the run is where it should be", () => {
    expect(PHASES.map((r) => r.phase).sort()).toEqual([
      "Failed",
      "Pending",
      "Queued",
      "Running",
      "Succeeded",
      "Suspended",
    ]);
    for (const row of PHASES) {
      expect(row.ready === "True").toBe(["Running", "Succeeded", "Suspended"].includes(row.phase));
      expect(row.stalled === "True").toBe(row.phase === "Failed");
    }
  });

  it("the table lists the reasons the backends really write (no reason outside the kind's one union)", () => {
    const failed = rowOf("Failed").reasons as readonly string[];
    for (const reason of FAILURE_REASONS) expect(failed).toContain(reason);
    for (const reason of [
      "NodeLost",
      "InvalidTaskConfig",
      "SetupFailure",
      "ArtifactDownloadFailed",
      "SiblingTaskFailed",
      "CreateContainerError",
      "RunContainerError",
      "ContainerRemoved",
    ]) {
      expect(failed).toContain(reason);
      expect(phaseTableMarkdown()).toContain(reason);
    }
    const pending = rowOf("Pending").reasons as readonly string[];
    for (const reason of BLOCKED_REASONS) expect(pending).toContain(reason);
  });

  it.each(FAILURE_REASONS)(
    "a replica failing with %s gives a Failed status whose reason is in the table",
    (reason) => {
      const job = trainingJob();
      const run = observedRun({
        runId: "g1-a",
        specHash: "s",
        runSpecHash: "r",
        replicas: [replica(0, "failed", { reason, exhausted: true, exitCode: 1 })],
      });
      const outcome = outcomeOf(run, job.spec, undefined, new Date(), 600_000);
      expect(outcome?.outcome).toBe("Failed");
      expect(REASONS.Failed as readonly string[]).toContain(outcome?.reason);
      expect(outcome?.reason).toBe(failedRunReason(reason));
    },
  );

  it("an error reason the table does not know becomes ReconcileError, keeping the error's own reason in the message", () => {
    expect(blockerReason("NomadUnavailable", "refused")).toEqual({
      reason: "NomadUnavailable",
      message: "refused",
    });
    expect(blockerReason("GrafanaSaidNo", "teapot")).toEqual({
      reason: "ReconcileError",
      message: "GrafanaSaidNo: teapot",
    });
    const status = statusFrom({
      job: trainingJob(),
      now: new Date("2026-12-04T10:00:00Z"),
      revision: undefined,
      blocker: { reason: "SomethingNew", message: "it broke" },
    });
    const ready = status.conditions?.find((c) => c.type === "Ready");
    expect(ready).toMatchObject({
      status: "False",
      reason: "ReconcileError",
      message: "SomethingNew: it broke",
    });
  });

  it("a run recorded by an older version with a reason the table lacks reads back as a known reason", () => {
    expect(recordedReason("Failed", "OOMKilled")).toBe("OOMKilled");
    expect(recordedReason("Failed", "WhoKnows")).toBe("Error");
    expect(recordedReason("Succeeded", undefined)).toBe("Succeeded");
  });

  it("every reason any row lists is listed once, and the type's reasons are exactly the table's", () => {
    // Preempted alone is in two rows: a run whose queue preempted it waits (Queued); a replica the
    // scheduler evicted with no platform retry left fails the run (Failed).
    const twice = ["Preempted"];
    for (const reason of twice)
      expect(PHASES.filter((r) => r.reasons.includes(reason as never))).toHaveLength(2);
    const all = PHASES.flatMap((r) => [...r.reasons]).filter((r) => !twice.includes(r));
    expect(new Set(all).size).toBe(all.length);
    expect(new Set([...all, ...twice])).toEqual(new Set(Object.values(REASONS).flat()));
  });
});

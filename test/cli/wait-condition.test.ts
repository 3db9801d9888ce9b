import { describe, expect, it } from "vitest";
import { judge, parseWaitFor, type WaitFor } from "../../src/cli/wait-condition.ts";
import { diffRecords, type Known, type StatusRecord } from "../../src/sources/state/index.ts";

function record(name: string, status: Record<string, unknown>, generation = 2): StatusRecord {
  return {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingJob",
    metadata: { name, namespace: "default", generation },
    spec: { replicas: 1 },
    specHash: "h",
    status,
    updated: "2026-01-01T00:00:00Z",
  };
}

const ready = (s: string, reason: string, observedGeneration = 2) => ({
  type: "Ready",
  status: s,
  reason,
  message: "m",
  lastTransitionTime: "2026-01-01T00:00:00Z",
  observedGeneration,
});

describe("parseWaitFor", () => {
  it.each([
    ["condition=Ready", { on: "condition", type: "Ready", status: "true" }],
    ["condition=Ready=False", { on: "condition", type: "Ready", status: "false" }],
    ["condition=Stalled=true", { on: "condition", type: "Stalled", status: "true" }],
    ["phase=Succeeded", { on: "phase", phase: "Succeeded" }],
    ["delete", { on: "delete" }],
  ])("%s", (text, want) => expect(parseWaitFor(text)).toEqual(want));

  it.each(["condition", "condition=Ready=maybe", "phase=A=B", "jsonpath={.status}", "a=b=c=d"])(
    "rejects %s",
    (text) => expect(() => parseWaitFor(text)).toThrow(`invalid --for "${text}"`),
  );

  it("takes every phase a TrainingJob's status can hold, and no other (it would wait until the timeout)", () => {
    for (const phase of ["Queued", "Pending", "Running", "Succeeded", "Failed", "Suspended"])
      expect(parseWaitFor(`phase=${phase}`, "TrainingJob")).toEqual({ on: "phase", phase });
    for (const typo of ["Succeded", "succeeded", "Completed", "New"])
      expect(() => parseWaitFor(`phase=${typo}`, "TrainingJob")).toThrow(
        `invalid --for "phase=${typo}": a TrainingJob's phase is one of Queued, Pending, Running, Succeeded, Failed, Suspended`,
      );
  });

  it.each(["MlopsStack", "TrainingQueue", "Notifier"] as const)(
    "a %s has no phase: it says to wait for a condition",
    (kind) =>
      expect(() => parseWaitFor("phase=Ready", kind)).toThrow(
        `a ${kind} has no phase; wait for a condition (condition=Ready)`,
      ),
  );
});

describe("judge", () => {
  const cases: [string, StatusRecord | undefined, WaitFor, ReturnType<typeof judge>][] = [
    ["no record yet", undefined, parseWaitFor("condition=Ready"), { met: false }],
    ["deleted", undefined, parseWaitFor("delete"), { met: true }],
    [
      "Ready of this generation",
      record("a", { observedGeneration: 2, phase: "Running", conditions: [ready("True", "Running")] }),
      parseWaitFor("condition=Ready"),
      { met: true },
    ],
    [
      "Ready of an older generation does not count",
      record("a", { observedGeneration: 1, phase: "Running", conditions: [ready("True", "Running", 1)] }),
      parseWaitFor("condition=Ready"),
      { met: false },
    ],
    [
      "a phase of an older generation is not terminal",
      record("a", { observedGeneration: 1, phase: "Failed", conditions: [ready("False", "OOMKilled", 1)] }),
      parseWaitFor("phase=Succeeded"),
      { met: false },
    ],
    [
      "Failed cannot become Succeeded",
      record("a", { observedGeneration: 2, phase: "Failed", conditions: [ready("False", "OOMKilled")] }),
      parseWaitFor("phase=Succeeded"),
      { met: false, impossible: "the run ended Failed (OOMKilled: m)" },
    ],
    [
      "Succeeded meets Ready",
      record("a", { observedGeneration: 2, phase: "Succeeded", conditions: [ready("True", "Succeeded")] }),
      parseWaitFor("condition=Ready"),
      { met: true },
    ],
    [
      "Ready=False met by a failed run",
      record("a", { observedGeneration: 2, phase: "Failed", conditions: [ready("False", "Error")] }),
      parseWaitFor("condition=Ready=False"),
      { met: true },
    ],
    [
      "a pending run waits",
      record("a", { observedGeneration: 2, phase: "Pending", conditions: [ready("False", "Scheduling")] }),
      parseWaitFor("phase=Succeeded"),
      { met: false },
    ],
  ];
  it.each(cases)("%s", (_name, r, want, verdict) => expect(judge(r, want)).toEqual(verdict));
});

describe("diffRecords", () => {
  it("adds, modifies on meaning only, and deletes", () => {
    const known: Known = new Map();
    const a = record("a", { phase: "Pending" });
    const b = record("b", { phase: "Pending" });
    expect(diffRecords(known, [a, b]).map((e) => `${e.type} ${e.record.metadata.name}`)).toEqual([
      "ADDED a",
      "ADDED b",
    ]);
    // A new write time alone is no change.
    expect(diffRecords(known, [{ ...a, updated: "2026-02-02T00:00:00Z" }, b])).toEqual([]);
    const running = record("a", { phase: "Running" });
    expect(diffRecords(known, [running]).map((e) => `${e.type} ${e.record.metadata.name}`)).toEqual([
      "MODIFIED a",
      "DELETED b",
    ]);
    expect(diffRecords(known, [running])).toEqual([]);
  });
});

describe("the wait line", () => {
  it("shows a running run's progress when it reports one, and nothing of it otherwise", async () => {
    const { summarize } = await import("../../src/cli/wait-condition.ts");
    const base = { metadata: { name: "mnist", namespace: "default" }, spec: { replicas: 1 } };
    const running = {
      ...base,
      status: {
        phase: "Running",
        run: { replicas: [{ state: "running" }] },
        progress: { ratio: 0.5, epoch: 6 },
      },
    };
    expect(summarize(running as never)).toBe("Running  Ready=Unknown  replicas 1/1  progress 50% epoch 6");
    const pending = { ...base, status: { phase: "Pending" } };
    expect(summarize(pending as never)).toBe("Pending  Ready=Unknown  replicas 0/1");
  });
});

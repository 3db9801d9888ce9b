import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { StatusRecord } from "../../src/sources/state/record.ts";
import { sameRecord } from "../../src/sources/state/same-record.ts";
import { fingerprint } from "../../src/sources/state/store.ts";

function record(status: Record<string, unknown>, extra: Partial<StatusRecord> = {}): StatusRecord {
  return {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingJob",
    metadata: { name: "a", namespace: "default", generation: 1 },
    spec: { image: "train:1" },
    specHash: "h1",
    status,
    updated: "2026-12-04T00:00:00.000Z",
    ...extra,
  } as StatusRecord;
}

/** The same value with every object's keys in reverse order. */
function reordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reordered);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([k, v]) => [k, reordered(v)]),
  );
}

describe("sameRecord", () => {
  const condition = (status: string, time: string) => ({
    type: "Ready",
    status,
    reason: "Running",
    lastTransitionTime: time,
  });

  it.each([
    ["the same record", record({ phase: "Running" }), record({ phase: "Running" }), true],
    [
      "other timestamps only",
      record({ phase: "Running", conditions: [condition("True", "t1")] }),
      record({ phase: "Running", conditions: [condition("True", "t2")] }, { updated: "later" }),
      true,
    ],
    [
      "keys in another order",
      record({ phase: "Running", run: { id: "r", attempt: 1 } }),
      record({ run: { attempt: 1, id: "r" }, phase: "Running" }),
      true,
    ],
    [
      "an undefined member and an absent one",
      record({ phase: "Running", message: undefined }),
      record({ phase: "Running" }),
      true,
    ],
    [
      "another spec object with the same hash",
      record({ phase: "Running" }),
      record({ phase: "Running" }, { spec: { image: "other" } }),
      true,
    ],
    ["another phase", record({ phase: "Running" }), record({ phase: "Succeeded" }), false],
    [
      "a condition's status",
      record({ conditions: [condition("True", "t")] }),
      record({ conditions: [condition("False", "t")] }),
      false,
    ],
    [
      "another spec hash",
      record({ phase: "Running" }),
      record({ phase: "Running" }, { specHash: "h2" }),
      false,
    ],
    ["a member more", record({ phase: "Running" }), record({ phase: "Running", message: "m" }), false],
    ["null against absent", record({ phase: "Running", message: null }), record({ phase: "Running" }), false],
    [
      "undefined and null in an array (both written as null)",
      record({ attempts: [undefined] }),
      record({ attempts: [null] }),
      true,
    ],
    ["an array's order", record({ attempts: [1, 2] }), record({ attempts: [2, 1] }), false],
    ["an array against an object", record({ attempts: [] }), record({ attempts: {} }), false],
    ["a number against its string", record({ attempt: 1 }), record({ attempt: "1" }), false],
  ])("%s", (_what, a, b, same) => {
    expect(sameRecord(a, b)).toBe(same);
    expect(sameRecord(b, a)).toBe(same);
    expect(fingerprint(a) === fingerprint(b)).toBe(same);
  });

  it("agrees with the fingerprint on generated statuses", () => {
    const leaf = fc.oneof(
      fc.constantFrom("Running", "Failed", "t1", "t2"),
      fc.integer({ min: 0, max: 3 }),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
    );
    const key = fc.constantFrom(
      "phase",
      "reason",
      "message",
      "attempt",
      "lastTransitionTime",
      "updated",
      "run",
      "conditions",
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small" },
        leaf,
        fc.array(tie("node"), { maxLength: 3 }),
        fc.dictionary(key, tie("node"), { maxKeys: 4 }),
      ),
    })).node;
    const status = fc.dictionary(key, value, { maxKeys: 5 });
    fc.assert(
      fc.property(status, status, fc.boolean(), (a, b, reorder) => {
        const x = record(a as Record<string, unknown>);
        const y = record((reorder ? reordered(a) : b) as Record<string, unknown>);
        expect(sameRecord(x, y)).toBe(fingerprint(x) === fingerprint(y));
      }),
      { numRuns: 2000, seed: 20261204 },
    );
  });
});

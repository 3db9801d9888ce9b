import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Condition,
  type ConditionInput,
  sameIgnoringTimes,
  setCondition,
  setConditions,
} from "../../src/api/conditions.ts";

const t0 = new Date("2026-01-01T00:00:00Z");
const t1 = new Date("2026-01-01T01:00:00Z");

describe("conditions", () => {
  it("keeps lastTransitionTime while status is unchanged, moves it when status changes", () => {
    const a = setCondition([], { type: "Ready", status: "False", reason: "Submitted", message: "" }, 1, t0);
    const b = setCondition(a, { type: "Ready", status: "False", reason: "Scheduling", message: "x" }, 2, t1);
    expect(b[0]?.lastTransitionTime).toBe(t0.toISOString());
    expect(b[0]?.reason).toBe("Scheduling");
    expect(b[0]?.observedGeneration).toBe(2);
    const c = setCondition(b, { type: "Ready", status: "True", reason: "Running", message: "" }, 2, t1);
    expect(c[0]?.lastTransitionTime).toBe(t1.toISOString());
  });

  it("orders Ready, Reconciling, Stalled first and drops types not set", () => {
    const out = setConditions(
      [{ type: "Old", status: "True", reason: "x", message: "", lastTransitionTime: t0.toISOString() }],
      [
        { type: "MetricsHealthy", status: "True", reason: "ChecksPassing", message: "" },
        { type: "Stalled", status: "False", reason: "Running", message: "" },
        { type: "Ready", status: "True", reason: "Running", message: "" },
      ],
      1,
      t0,
    );
    expect(out.map((c) => c.type)).toEqual(["Ready", "Stalled", "MetricsHealthy"]);
  });

  it("sets several at once as setCondition does for each in turn, the unnamed types then dropped", () => {
    const type = fc.constantFrom("Ready", "Stalled", "Reconciling", "Admitted", "MetricsHealthy", "Zeta");
    const status = fc.constantFrom("True" as const, "False" as const, "Unknown" as const);
    const input = fc.record({ type, status, reason: fc.constantFrom("A", "B"), message: fc.string() });
    const existing = fc.record({
      type,
      status,
      reason: fc.constant("Old"),
      message: fc.constant(""),
      lastTransitionTime: fc.constantFrom(t0.toISOString(), "2025-12-31T00:00:00.000Z"),
      observedGeneration: fc.nat(3),
    });
    fc.assert(
      fc.property(
        fc.option(fc.array(existing, { maxLength: 6 }), { nil: undefined }),
        fc.array(input, { maxLength: 6 }),
        (conditions: Condition[] | undefined, inputs: ConditionInput[]) => {
          let folded = [...(conditions ?? [])];
          for (const i of inputs) folded = setCondition(folded, i, 4, t1);
          const named = new Set(inputs.map((i) => i.type));
          expect(setConditions(conditions, inputs, 4, t1)).toEqual(folded.filter((c) => named.has(c.type)));
        },
      ),
    );
  });

  it("compares status ignoring timestamps", () => {
    const a = { phase: "Running", conditions: [{ type: "Ready", lastTransitionTime: "1" }] };
    expect(
      sameIgnoringTimes(a, { conditions: [{ lastTransitionTime: "2", type: "Ready" }], phase: "Running" }),
    ).toBe(true);
    expect(sameIgnoringTimes(a, { phase: "Failed", conditions: [{ type: "Ready" }] })).toBe(false);
  });
});

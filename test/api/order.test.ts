// byCodeUnits stands where localeCompare sorted names: for DNS-1123 labels and the keys and paths
// made of them it orders as ICU's collator does, and it orders ISO times by time.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { byCodeUnits } from "../../src/api/order.ts";

const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);
const sign = (n: number) => Math.sign(n);

describe("byCodeUnits", () => {
  it("orders DNS-1123 labels, and namespace/name keys, as localeCompare does", () => {
    fc.assert(
      fc.property(label, label, (a, b) => {
        expect(sign(byCodeUnits(a, b))).toBe(sign(a.localeCompare(b)));
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(label, label, label, label, (n1, a, n2, b) => {
        expect(sign(byCodeUnits(`${n1}/${a}`, `${n2}/${b}`))).toBe(
          sign(`${n1}/${a}`.localeCompare(`${n2}/${b}`)),
        );
      }),
      { numRuns: 5000 },
    );
  });

  it("orders ISO times by the time they name", () => {
    const time = fc.date({ min: new Date("2000-01-01"), max: new Date("2099-12-31"), noInvalidDate: true });
    fc.assert(
      fc.property(time, time, (a, b) => {
        expect(sign(byCodeUnits(a.toISOString(), b.toISOString()))).toBe(sign(a.getTime() - b.getTime()));
      }),
    );
  });

  it("is a total order: equal strings compare 0, the rest by their first differing code unit", () => {
    expect(byCodeUnits("team-a", "team-a")).toBe(0);
    expect(byCodeUnits("team-a", "team-b")).toBe(-1);
    expect(byCodeUnits("job-10", "job-9")).toBe(-1);
    expect(byCodeUnits("a", "")).toBe(1);
  });
});

import { describe, expect, it } from "vitest";
import { TURN_BUDGET_MS, turnBudget } from "../../src/api/turns.ts";

const spin = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe("turnBudget", () => {
  it("is spent after TURN_BUDGET_MS of work, and fresh again after a yield", async () => {
    const budget = turnBudget();
    expect(budget.spent()).toBe(false);
    spin(TURN_BUDGET_MS + 1);
    expect(budget.spent()).toBe(true);
    await budget.yield();
    expect(budget.spent()).toBe(false);
  });

  it("yields to timers and I/O callbacks already due: a loop of items that awaits nothing else", async () => {
    const budget = turnBudget(5);
    let items = 0;
    let atTimer: number | undefined;
    setTimeout(() => {
      atTimer = items;
    }, 0);
    for (; items < 200; items++) {
      spin(0.5);
      if (budget.spent()) await budget.yield();
    }
    // ~10 items per 5 ms stretch: the timer ran at the first yield (or the second, if the loop
    // began before the timer was due), not after all 200.
    expect(atTimer).toBeDefined();
    expect(atTimer).toBeLessThan(40);
  });
});

import { describe, expect, it } from "vitest";
import { pairLatencies } from "../../bench/lib/queue-runs.ts";
import { median, spread } from "../../bench/lib/stats.ts";

describe("queue benchmark's finish → next registration pairs", () => {
  it("pairs each registration past a queue's slots with the oldest unpaired finish of that queue", () => {
    const runs = [
      // queue a, 2 slots: two first registrations fill it; the third waits for the first finish.
      { queue: "a", registered: 0, completed: 100 },
      { queue: "a", registered: 5, completed: 150 },
      { queue: "a", registered: 120, completed: 300 },
      { queue: "a", registered: 170, completed: undefined },
      // queue b: its own finishes only.
      { queue: "b", registered: 1, completed: 50 },
      { queue: "b", registered: 2, completed: undefined },
      { queue: "b", registered: 90, completed: undefined },
    ];
    expect(pairLatencies(runs, 2)).toEqual([
      { at: 90, latency: 40 }, // b: finished at 50
      { at: 120, latency: 20 }, // a: finished at 100
      { at: 170, latency: 20 }, // a: finished at 150
    ]);
  });

  it("takes a finish before a registration of the same millisecond", () => {
    const runs = [
      { queue: "a", registered: 0, completed: 10 },
      { queue: "a", registered: 10, completed: undefined },
    ];
    expect(pairLatencies(runs, 1)).toEqual([{ at: 10, latency: 0 }]);
  });

  it("leaves a registration past the slots without a finish before it unpaired", () => {
    const runs = [
      { queue: "a", registered: 0, completed: undefined },
      { queue: "a", registered: 3, completed: undefined },
    ];
    expect(pairLatencies(runs, 1)).toEqual([]);
  });
});

describe("repeated passes", () => {
  it("gives the median and the range", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2);
    expect(spread([120, 96, 134], (v) => `${v} ms`)).toBe("120 ms (96 ms–134 ms)");
    expect(spread([7], String)).toBe("7");
    expect(spread([], String)).toBe("n/a");
  });
});

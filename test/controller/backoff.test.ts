import { describe, expect, it } from "vitest";
import { Backoff } from "../../src/controller/backoff.ts";

describe("Backoff", () => {
  it.each([
    [0, 750],
    [1, 1_500],
    [2, 3_000],
    [5, 24_000],
    [10, 768_000],
    [11, 900_000],
    [12, 900_000],
    [1_000, 900_000],
  ])("after %i failures waits %i ms (750 ms doubling, capped at 15 min)", (failures, delay) => {
    expect(new Backoff().delayFor(failures)).toBe(delay);
  });

  it("grows per key and starts over after forget", () => {
    const backoff = new Backoff({ baseMs: 10, maxMs: 50 });
    expect([backoff.next("a"), backoff.next("a"), backoff.next("a"), backoff.next("a")]).toEqual([
      10, 20, 40, 50,
    ]);
    expect(backoff.next("b")).toBe(10);
    expect(backoff.failures("a")).toBe(4);
    backoff.forget("a");
    expect(backoff.failures("a")).toBe(0);
    expect(backoff.next("a")).toBe(10);
    expect(backoff.size).toBe(2);
  });

  it.each([
    [0, 750],
    [0.5, 1_000],
    [0.999_999, 1_250],
  ])("with jitter 0.25 and random %f scales 1 000 ms to %i ms", (random, delay) => {
    const backoff = new Backoff({ baseMs: 1_000, jitter: 0.25, random: () => random });
    expect(backoff.delayFor(0)).toBe(delay);
  });

  it("never jitters above the cap", () => {
    const backoff = new Backoff({ baseMs: 100, maxMs: 400, jitter: 0.5, random: () => 0.99 });
    expect(backoff.delayFor(0)).toBe(149);
    expect(backoff.delayFor(2)).toBe(400);
    expect(backoff.delayFor(3)).toBe(400);
  });

  it.each([[{ baseMs: 0 }], [{ baseMs: 100, maxMs: 50 }], [{ jitter: 1.5 }], [{ jitter: -0.1 }]])(
    "rejects %o",
    (options) => {
      expect(() => new Backoff(options)).toThrow(RangeError);
    },
  );
});

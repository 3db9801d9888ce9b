// The one backoff curve and abortable pause every retry loop uses.
import { describe, expect, it } from "vitest";
import { backoffDelay, pause } from "../../src/api/backoff.ts";

describe("backoffDelay", () => {
  it.each([
    [0, 0.5, 250],
    [1, 0.5, 500],
    [7, 0.5, 30_000],
    [3, 0, 1_000],
    [3, 1, 2_999],
    [200, 0.99, 30_000],
    [-1, 0.5, 250],
  ])("attempt %i, random %f → %i ms (250 ms doubling to 30 s, ±50 %)", (attempt, random, ms) => {
    const delay = backoffDelay(attempt, { initialMs: 250, maxMs: 30_000, jitter: 0.5 }, () =>
      Math.min(random, 0.9995),
    );
    expect(delay).toBeCloseTo(ms, -1);
    expect(delay).toBeLessThanOrEqual(30_000);
  });

  it("without jitter is exact and needs no randomness", () => {
    expect(backoffDelay(4, { initialMs: 100, maxMs: 2_000 }, () => Number.NaN)).toBe(1_600);
    expect(backoffDelay(5, { initialMs: 100, maxMs: 2_000 }, () => Number.NaN)).toBe(2_000);
  });
});

describe("pause", () => {
  it("waits, or returns early without throwing when its signal aborts", async () => {
    const started = performance.now();
    await pause(30);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    const abort = new AbortController();
    const early = performance.now();
    setTimeout(() => abort.abort(new Error("stop")), 10);
    await pause(10_000, abort.signal);
    expect(performance.now() - early).toBeLessThan(1_000);
    await pause(10_000, abort.signal); // already aborted: at once
    expect(performance.now() - early).toBeLessThan(1_000);
  });
});

import { Subject } from "rxjs";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ResourceKey } from "../../src/api/resources.ts";
import { Controller, type ErrorReport } from "../../src/controller/controller.ts";
import { type Action, awaitChange } from "../../src/controller/reconcile.ts";

const key = (name: string): ResourceKey => `MlopsStack/default/${name}`;
let controllers = 0;

/** Settles after `ms` (fake clock), or rejects with the signal's reason when it aborts. */
function work(ms: number, signal: AbortSignal | undefined): Promise<Action> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(awaitChange), ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
}

afterEach(() => {
  vi.useRealTimers();
});

describe("Controller.stop", () => {
  it("lets in-flight reconciles finish within the grace period and starts no queued key", async () => {
    vi.useFakeTimers({ now: 0 });
    const started: ResourceKey[] = [];
    const signals: AbortSignal[] = [];
    const source = new Subject<ResourceKey>();
    const controller = new Controller({
      name: `stop-test-${++controllers}`,
      concurrency: 1,
      sources: [source],
      dispatch: (k, signal) => {
        started.push(k);
        signals.push(signal);
        return work(300, signal);
      },
    });
    controller.start();
    source.next(key("a"));
    source.next(key("b"));
    await vi.advanceTimersByTimeAsync(0); // the worker took a (at the end of the turn); b waits
    expect(started).toEqual([key("a")]);
    let stoppedAt: number | undefined;
    const stopping = controller.stop({ gracePeriodMs: 1_000 }).then((result) => {
      stoppedAt = Date.now();
      return result;
    });
    source.next(key("c"));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await stopping).toEqual({ abandoned: [] });
    expect(stoppedAt).toBe(300);
    expect(started).toEqual([key("a")]);
    expect(signals[0]?.aborted).toBe(false);
    expect(source.observed).toBe(false);
  });

  it("aborts reconciles still running after the grace period, waits for them, and does not retry them", async () => {
    vi.useFakeTimers({ now: 0 });
    const reports: ErrorReport[] = [];
    const controller = new Controller({
      name: `stop-test-${++controllers}`,
      concurrency: 2,
      keys: () => [key("slow"), key("slower")],
      onError: (r) => reports.push(r),
      dispatch: (_, signal) => work(60_000, signal),
    });
    controller.start();
    await vi.advanceTimersByTimeAsync(10);
    let stoppedAt: number | undefined;
    const stopping = controller.stop({ gracePeriodMs: 200 }).then((result) => {
      stoppedAt = Date.now();
      return result;
    });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await stopping).toEqual({ abandoned: [] });
    expect(stoppedAt).toBe(210);
    expect(reports.map((r) => [r.key, r.reason, r.retryInMs])).toEqual([
      [key("slow"), "Cancelled", undefined],
      [key("slower"), "Cancelled", undefined],
    ]);
    expect(controller.queue.delayed).toBe(0);
  });

  it("gives up on a reconcile that ignores the abort, naming it", async () => {
    vi.useFakeTimers({ now: 0 });
    const controller = new Controller({
      name: `stop-test-${++controllers}`,
      keys: () => [key("stuck")],
      dispatch: () => work(3_600_000, undefined),
    });
    controller.start();
    await vi.advanceTimersByTimeAsync(10);
    const stopping = controller.stop({ gracePeriodMs: 2_000 });
    await vi.advanceTimersByTimeAsync(4_000);
    expect(await stopping).toEqual({ abandoned: [key("stuck")] });
  });

  it("is idempotent and works on a controller never started", async () => {
    const controller = new Controller({
      name: `stop-test-${++controllers}`,
      dispatch: async () => awaitChange,
    });
    const first = controller.stop();
    expect(controller.stop()).toBe(first);
    expect(await first).toEqual({ abandoned: [] });
    expect(() => controller.start()).toThrow(/already started/);
  });
});

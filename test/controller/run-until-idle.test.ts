import { Subject } from "rxjs";
import { describe, expect, it } from "vitest";
import { InvalidSpecError, OperatorError } from "../../src/api/errors.ts";
import type { ResourceKey } from "../../src/api/resources.ts";
import { Controller, type Dispatch } from "../../src/controller/controller.ts";
import { awaitChange, requeue } from "../../src/controller/reconcile.ts";
import { metricValue } from "./metric-values.ts";

const key = (name: string): ResourceKey => `TrainingJob/team-a/${name}`;
let controllers = 0;

function once(
  dispatch: Dispatch,
  keys: string[],
  options: { concurrency?: number; sources?: Subject<ResourceKey>[] } = {},
) {
  const calls = new Map<string, number>();
  const controller = new Controller({
    name: `once-test-${++controllers}`,
    backoff: { baseMs: 5, maxMs: 20 },
    keys: () => keys.map(key),
    ...options,
    dispatch: (k, signal) => {
      calls.set(k, (calls.get(k) ?? 0) + 1);
      return dispatch(k, signal);
    },
  });
  return { controller, calls };
}

const nomadDown = () =>
  new OperatorError("NomadUnavailable", "nomad at http://127.0.0.1:4646: connection refused");

describe("Controller.runUntilIdle (--once)", () => {
  it("waits for a key that a reconcile reports from a timer of its own, after it returned", async () => {
    const events = new Subject<ResourceKey>();
    const { controller, calls } = once(
      async (k) => {
        // The Docker scheduler's ImageNotFound: announced once the reconcile that submitted returned.
        if (k === key("submits") && calls.get(k) === 1) setTimeout(() => events.next(key("submits")), 0);
        return awaitChange;
      },
      ["submits"],
      { sources: [events] },
    );
    const summary = await controller.runUntilIdle({ timeoutMs: 5_000 });
    expect(summary.timedOut).toBe(false);
    expect(calls.get(key("submits"))).toBe(2);
  });

  it("stops when every key reached its state or is blocked: no requeue followed, errors retried, terminal not", async () => {
    const { controller, calls } = once(
      async (k) => {
        if (k === key("requeues")) return requeue(50);
        if (k === key("flaky") && (calls.get(k) ?? 0) <= 2) throw nomadDown();
        if (k === key("invalid"))
          throw new InvalidSpecError([{ path: ["spec", "image"], message: "is required" }]);
        return awaitChange;
      },
      ["requeues", "flaky", "invalid", "steady"],
    );
    const summary = await controller.runUntilIdle({ timeoutMs: 5_000 });
    expect(summary).toEqual({
      reconciled: 3,
      failed: [{ key: key("invalid"), reason: "InvalidSpec", message: "spec.image: is required" }],
      timedOut: false,
    });
    expect(Object.fromEntries(calls)).toEqual({
      [key("requeues")]: 1,
      [key("flaky")]: 3,
      [key("invalid")]: 1,
      [key("steady")]: 1,
    });
    const labels = { controller: controller.name };
    expect(await metricValue("controller_runtime_reconcile_total", { ...labels, result: "success" })).toBe(2);
    expect(
      await metricValue("controller_runtime_reconcile_total", { ...labels, result: "requeue_after" }),
    ).toBe(1);
    expect(await metricValue("controller_runtime_reconcile_total", { ...labels, result: "error" })).toBe(3);
    expect(await metricValue("workqueue_adds_total", { name: controller.name })).toBe(6);
  });

  it("times out while an error keeps being retried, reporting the last error", async () => {
    const { controller, calls } = once(async () => {
      throw nomadDown();
    }, ["down"]);
    const started = performance.now();
    const summary = await controller.runUntilIdle({ timeoutMs: 150 });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(summary).toEqual({
      reconciled: 0,
      failed: [{ key: key("down"), reason: "NomadUnavailable", message: nomadDown().message }],
      timedOut: true,
    });
    expect(calls.get(key("down"))).toBeGreaterThan(3);
  });

  it("aborts what is in flight at the timeout and lists what never ran", async () => {
    const { controller } = once(
      (_, signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener("abort", () => reject(new Error("fetch aborted")));
        }),
      ["hangs", "queued"],
      { concurrency: 1 },
    );
    const summary = await controller.runUntilIdle({ timeoutMs: 50 });
    expect(summary.timedOut).toBe(true);
    expect(summary.reconciled).toBe(0);
    expect(summary.failed).toEqual([
      {
        key: key("hangs"),
        reason: "Timeout",
        message: expect.stringMatching(/not done within 50 ms \(fetch aborted\)$/),
      },
      { key: key("queued"), reason: "Timeout", message: `${key("queued")}: not reconciled within 50 ms` },
    ]);
  });

  it("counts a key that fails then succeeds as reconciled, not failed", async () => {
    let first = true;
    const { controller } = once(async () => {
      if (!first) return awaitChange;
      first = false;
      throw nomadDown();
    }, ["x"]);
    expect(await controller.runUntilIdle({ timeoutMs: 1_000 })).toEqual({
      reconciled: 1,
      failed: [],
      timedOut: false,
    });
  });

  it("returns at once when there is nothing to do", async () => {
    const { controller } = once(async () => awaitChange, []);
    expect(await controller.runUntilIdle({ timeoutMs: 60_000 })).toEqual({
      reconciled: 0,
      failed: [],
      timedOut: false,
    });
  });

  it("takes events that a reconcile triggers before declaring idle", async () => {
    const source = new Subject<ResourceKey>();
    const { controller, calls } = once(
      async (k) => {
        // A stack becoming ready wakes its jobs through an external watch, just after the reconcile.
        if (k === key("stack")) setImmediate(() => source.next(key("job")));
        return awaitChange;
      },
      ["stack"],
      { sources: [source] },
    );
    expect(await controller.runUntilIdle({ timeoutMs: 1_000 })).toEqual({
      reconciled: 2,
      failed: [],
      timedOut: false,
    });
    expect([...calls.keys()]).toEqual([key("stack"), key("job")]);
    expect(source.observed).toBe(false);
  });
});

import pino from "pino";
import { concat, from, Subject } from "rxjs";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  InvalidSpecError,
  OperatorError,
  StalledError,
  TransientError,
  WaitingError,
} from "../../src/api/errors.ts";
import type { ResourceKey } from "../../src/api/resources.ts";
import { Controller, type ControllerOptions, type ErrorReport } from "../../src/controller/controller.ts";
import { type Action, awaitChange, requeue } from "../../src/controller/reconcile.ts";
import { LOW_PRIORITY } from "../../src/controller/workqueue.ts";
import { metricValue } from "./metric-values.ts";

const key = (name: string): ResourceKey => `TrainingJob/default/${name}`;
let controllers = 0;

/** A controller whose dispatch records every call (key and fake-clock time) and answers with `answer`. */
function recording(
  answer: (key: ResourceKey, call: number, signal: AbortSignal) => Promise<Action> | Action,
  options: Partial<ControllerOptions> = {},
) {
  const calls: { key: ResourceKey; at: number }[] = [];
  const perKey = new Map<ResourceKey, number>();
  const controller = new Controller({
    name: `ctrl-test-${++controllers}`,
    resyncMs: 0,
    ...options,
    dispatch: async (k, signal) => {
      calls.push({ key: k, at: Date.now() });
      const call = (perKey.get(k) ?? 0) + 1;
      perKey.set(k, call);
      return answer(k, call, signal);
    },
  });
  return { controller, calls, keysCalled: () => calls.map((c) => c.key) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("Controller", () => {
  it("merges every source into the queue; a key sent twice in one turn runs once, re-sent in flight once after", async () => {
    const s1 = new Subject<ResourceKey>();
    const s2 = new Subject<ResourceKey>();
    const broken = new Subject<ResourceKey>();
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { controller, keysCalled } = recording(
      async (k) => {
        if (k === key("a") && keysCalled().length === 1) await held;
        return awaitChange;
      },
      { concurrency: 1, sources: [s1, broken] },
    );
    controller.watch(s2).start();
    s1.next(key("a"));
    s2.next(key("b"));
    s2.next(key("a")); // the same turn (an event and an ending of one change): one reconcile
    await vi.waitFor(() => expect(keysCalled()).toEqual([key("a")])); // taken at the end of the turn
    s1.next(key("a")); // in flight: dirty, queued again after it is done
    s2.next(key("b")); // already queued: dropped
    broken.error(new Error("watch failed"));
    s2.next(key("c"));
    release();
    await controller.queue.whenIdle();
    expect(keysCalled()).toEqual([key("a"), key("b"), key("c"), key("a")]);
    await controller.stop();
    expect(s1.observed || s2.observed).toBe(false);
  });

  it("never reconciles one key twice at once, and runs at most `concurrency` reconciles", async () => {
    const running = new Set<ResourceKey>();
    let overlaps = 0;
    let peak = 0;
    const source = new Subject<ResourceKey>();
    const { controller, calls } = recording(
      async (k) => {
        if (running.has(k)) overlaps++;
        running.add(k);
        peak = Math.max(peak, running.size);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
        running.delete(k);
        return awaitChange;
      },
      { concurrency: 4, sources: [source] },
    );
    controller.start();
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 10; i++) source.next(key(`k${Math.floor(Math.random() * 12)}`));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await controller.queue.whenIdle();
    await controller.stop();
    expect(overlaps).toBe(0);
    expect(peak).toBe(4);
    expect(calls.length).toBeGreaterThan(12);
  });

  it("keeps `concurrency` workers busy and reports them as active", async () => {
    const releases: (() => void)[] = [];
    const { controller, calls } = recording(
      () => new Promise<Action>((resolve) => releases.push(() => resolve(awaitChange))),
      { concurrency: 3, keys: () => Array.from({ length: 10 }, (_, i) => key(`k${i}`)) },
    );
    controller.start();
    await new Promise((resolve) => setImmediate(resolve));
    const labels = { controller: controller.name };
    expect(calls.length).toBe(3);
    expect(await metricValue("controller_runtime_active_workers", labels)).toBe(3);
    expect(await metricValue("controller_runtime_max_concurrent_reconciles", labels)).toBe(3);
    expect(await metricValue("workqueue_depth", { name: controller.name })).toBe(7);
    for (let i = 0; i < 10 && releases.length > 0; i++) {
      for (const release of releases.splice(0)) release();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await controller.queue.whenIdle();
    expect(calls.length).toBe(10);
    expect(await metricValue("controller_runtime_active_workers", labels)).toBe(0);
    expect(await metricValue("controller_runtime_reconcile_total", { ...labels, result: "success" })).toBe(
      10,
    );
    expect(await metricValue("controller_runtime_reconcile_total", { ...labels, result: "error" })).toBe(0);
    expect(await metricValue("controller_runtime_reconcile_time_seconds_count", labels)).toBe(10);
    await controller.stop();
  });

  it("honours requeueAfter and forgets the key's backoff", async () => {
    vi.useFakeTimers({ now: 0 });
    const { controller, calls } = recording((_, call) => (call === 1 ? requeue(1_000) : awaitChange), {
      keys: () => [key("a")],
    });
    controller.start();
    await vi.advanceTimersByTimeAsync(999);
    expect(calls.length).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls.length).toBe(2);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(calls.length).toBe(2);
    const labels = { controller: controller.name };
    expect(
      await metricValue("controller_runtime_reconcile_total", { ...labels, result: "requeue_after" }),
    ).toBe(1);
    expect(await metricValue("controller_runtime_reconcile_total", { ...labels, result: "success" })).toBe(1);
    await controller.stop();
  });

  it("backs off an immediate requeue (requeueAfterMs 0) like controller-runtime's Requeue", async () => {
    vi.useFakeTimers({ now: 0 });
    const { controller, calls } = recording((_, call) => (call < 3 ? requeue(0) : awaitChange), {
      keys: () => [key("a")],
    });
    controller.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls.map((c) => c.at - (calls[0]?.at ?? 0))).toEqual([0, 750, 2_250]);
    expect(
      await metricValue("controller_runtime_reconcile_total", {
        controller: controller.name,
        result: "requeue",
      }),
    ).toBe(2);
    await controller.stop();
  });

  it("retries errors with growing backoff; a success starts the key over", async () => {
    vi.useFakeTimers({ now: 0 });
    const source = new Subject<ResourceKey>();
    const reports: ErrorReport[] = [];
    const { controller, calls } = recording(
      (_, call) => {
        if (call <= 3 || call === 5)
          throw new OperatorError("NomadUnavailable", "nomad at 127.0.0.1:4646: refused");
        return awaitChange;
      },
      { sources: [source], onError: (r) => reports.push(r) },
    );
    controller.start();
    source.next(key("a"));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls.map((c) => c.at)).toEqual([0, 750, 2_250, 5_250]);
    expect(reports.map((r) => r.retryInMs)).toEqual([750, 1_500, 3_000]);
    source.next(key("a"));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls.map((c) => c.at).slice(4)).toEqual([10_000, 10_750]);
    expect(reports[0]).toMatchObject({ key: key("a"), reason: "NomadUnavailable", terminal: false });
    const labels = { controller: controller.name };
    expect(
      await metricValue("controller_runtime_reconcile_errors_total", {
        ...labels,
        reason: "NomadUnavailable",
      }),
    ).toBe(4);
    expect(await metricValue("workqueue_retries_total", { name: controller.name })).toBe(4);
    await controller.stop();
  });

  it("logs an outage's failures of many keys as one line, then one line per half minute", async () => {
    vi.useFakeTimers({ now: 0 });
    const lines: { level: number; msg: string; failures?: number }[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const keys = Array.from({ length: 200 }, (_, i) => key(`j-${i}`));
    const { controller, calls } = recording(
      () => {
        throw new OperatorError("NomadUnavailable", "nomad at 127.0.0.1:4646: refused");
      },
      { keys: () => keys, log },
    );
    controller.start();
    await vi.advanceTimersByTimeAsync(29_000);
    expect(calls.length).toBeGreaterThan(200 * 3); // every key failed, and was retried, many times
    expect(lines.filter((l) => l.level >= 50)).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(lines.filter((l) => l.level >= 50)).toHaveLength(2);
    expect(lines.at(-1)?.failures).toBe(calls.length - 1);
    await controller.stop();
  });

  it("reports a terminal error and does not retry it", async () => {
    vi.useFakeTimers({ now: 0 });
    const reports: ErrorReport[] = [];
    const { controller, calls } = recording(
      () => {
        throw new InvalidSpecError([{ path: ["spec", "replicas"], message: "must be >= 1" }]);
      },
      { keys: () => [key("bad")], onError: (r) => reports.push(r) },
    );
    controller.start();
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(calls.length).toBe(1);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({
      reason: "InvalidSpec",
      terminal: true,
      message: "spec.replicas: must be >= 1",
    });
    expect(reports[0]?.retryInMs).toBeUndefined();
    expect(controller.queue.retries(key("bad"))).toBe(0);
    expect(
      await metricValue("controller_runtime_reconcile_errors_total", {
        controller: controller.name,
        reason: "InvalidSpec",
      }),
    ).toBe(1);
    await controller.stop();
  });

  it("error classes: a waiting error looks again after its delay, no backoff and no error counted; stalled is not retried", async () => {
    vi.useFakeTimers({ now: 0 });
    const reports: ErrorReport[] = [];
    const { controller, calls } = recording(
      (k, call) => {
        if (k === key("w") && call <= 3)
          throw new WaitingError("WaitingForStack", "stack lab is not Ready", 2_000);
        if (k === key("s")) throw new StalledError("NotOwned", "another operator owns it");
        if (k === key("t") && call === 1) throw new TransientError("NomadUnavailable", "refused");
        return awaitChange;
      },
      { keys: () => [key("w"), key("s"), key("t")], onError: (r) => reports.push(r) },
    );
    controller.start();
    await vi.advanceTimersByTimeAsync(60_000);
    const at = (k: ResourceKey) => calls.filter((c) => c.key === k).map((c) => c.at);
    expect(at(key("w"))).toEqual([0, 2_000, 4_000, 6_000]);
    expect(at(key("s"))).toEqual([0]);
    expect(at(key("t"))).toEqual([0, 750]);
    expect(reports.map((r) => [r.key, r.errorClass, r.terminal, r.retryInMs])).toEqual([
      [key("w"), "waiting", false, 2_000],
      [key("s"), "stalled", true, undefined],
      [key("t"), "transient", false, 750],
      [key("w"), "waiting", false, 2_000],
      [key("w"), "waiting", false, 2_000],
    ]);
    const errors = (reason: string, cls: string) =>
      metricValue("controller_runtime_reconcile_errors_total", {
        controller: controller.name,
        reason,
        class: cls,
      });
    expect(await errors("WaitingForStack", "waiting")).toBeUndefined();
    expect(await errors("NotOwned", "stalled")).toBe(1);
    expect(await errors("NomadUnavailable", "transient")).toBe(1);
    expect(controller.queue.retries(key("w"))).toBe(0);
    await controller.stop();
  });

  it("resyncs every key each period, spread by ±jitter", async () => {
    vi.useFakeTimers({ now: 0 });
    const randoms = [0, 0.999_999, 0.5];
    const listedAt: number[] = [];
    const { controller, calls } = recording(() => awaitChange, {
      resyncMs: 1_000,
      resyncJitter: 0.1,
      random: () => randoms.shift() ?? 0.5,
      keys: () => {
        listedAt.push(Date.now());
        return [key("a"), key("b")];
      },
    });
    controller.start();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(listedAt).toEqual([0, 900, 2_000, 3_000]);
    expect(calls.length).toBe(8);
    await controller.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(listedAt.length).toBe(4);
  });

  it("a resync does not cut short the backoff of a key that failed", async () => {
    vi.useFakeTimers({ now: 0 });
    const { controller, calls } = recording(
      () => {
        throw new TransientError("NomadUnavailable", "answers 500");
      },
      { resyncMs: 1_000, resyncJitter: 0, now: () => Date.now(), keys: () => [key("a")] },
    );
    controller.start();
    await vi.advanceTimersByTimeAsync(6_000);
    // The start-up listing, then its backoff (750 ms doubling); the resyncs at 1 s, 2 s, ... 6 s found
    // it waiting for its retry and left it there.
    expect(calls.map((c) => c.at)).toEqual([0, 750, 2_250, 5_250]);
    await controller.stop();
  });

  it("resync 0 lists the keys once, at start", async () => {
    vi.useFakeTimers({ now: 0 });
    let listed = 0;
    const keys = () => {
      listed++;
      return [key("a")];
    };
    const { controller } = recording(() => awaitChange, { resyncMs: 0, keys });
    controller.start();
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(listed).toBe(1);
    await controller.stop();
  });

  it("serves keys that events report before the start-up listing's", async () => {
    const events = new Subject<ResourceKey>();
    const listed = Array.from({ length: 50 }, (_, i) => key(`listed-${i}`));
    let release: () => void = () => {};
    const first = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { controller, keysCalled } = recording(
      async (k) => {
        if (k === key("changed")) await first; // the one worker is busy while more events arrive
        return awaitChange;
      },
      { concurrency: 1, sources: [events], keys: () => listed },
    );
    controller.start();
    events.next(key("changed")); // the same turn as the listing: taken first at its end
    await vi.waitFor(() => expect(keysCalled()).toEqual([key("changed")]));
    events.next(key("listed-40")); // listed, then reported by an event: served before the other listed keys
    release();
    await controller.queue.whenIdle();
    expect(keysCalled().slice(0, 4)).toEqual([
      key("changed"),
      key("listed-40"),
      key("listed-0"),
      key("listed-1"),
    ]);
    expect(keysCalled()).toHaveLength(51);
    await controller.stop();
  });

  it("queues what a source replays as it is subscribed (its listing) behind the changes it reports after", async () => {
    const changes = new Subject<ResourceKey>();
    const known = ["a", "b", "c"].map(key);
    // As the directory and Kubernetes sources: every key known at subscription, then each change.
    const source = concat(from(known), changes);
    const { controller, keysCalled } = recording(async () => awaitChange, {
      concurrency: 1,
      sources: [source],
    });
    controller.start();
    changes.next(key("edited")); // the same turn as the listing: taken first at its end
    changes.next(key("b")); // listed, then changed: raised to the changes' priority
    await controller.queue.whenIdle();
    expect(keysCalled()).toEqual([key("edited"), key("b"), key("a"), key("c")]);
    expect(await metricValue("workqueue_adds_total", { name: controller.name })).toBe(4);
    await controller.stop();
  });

  it("queues a source given with a priority at that priority", async () => {
    const normal = new Subject<ResourceKey>();
    const low = new Subject<ResourceKey>();
    let release: () => void = () => {};
    const first = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { controller, keysCalled } = recording(
      async (k) => {
        if (k === key("busy")) await first;
        return awaitChange;
      },
      { concurrency: 1, sources: [normal, { keys: low, priority: LOW_PRIORITY }] },
    );
    controller.start();
    normal.next(key("busy"));
    low.next(key("later"));
    normal.next(key("now"));
    release();
    await controller.queue.whenIdle();
    expect(keysCalled()).toEqual([key("busy"), key("now"), key("later")]);
    await controller.stop();
  });

  it("rejects a concurrency below 1 and a second start", () => {
    expect(() => new Controller({ name: "bad", concurrency: 0, dispatch: async () => awaitChange })).toThrow(
      /concurrency/,
    );
    const { controller } = recording(() => awaitChange);
    controller.start();
    expect(() => controller.start()).toThrow(/already started/);
    return controller.stop();
  });
});

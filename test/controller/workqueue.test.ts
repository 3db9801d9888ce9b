import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { HIGH_PRIORITY, LOW_PRIORITY, TURN_BUDGET_MS, WorkQueue } from "../../src/controller/workqueue.ts";
import { metricValue } from "./metric-values.ts";

let queues = 0;
const newQueue = (options: { baseMs?: number } = {}) =>
  new WorkQueue({ name: `wq-test-${++queues}`, backoff: { baseMs: options.baseMs ?? 100, maxMs: 1_000 } });

afterEach(() => {
  vi.useRealTimers();
});

describe("WorkQueue", () => {
  it("processes a key queued twice once, in first-in first-out order", async () => {
    const q = newQueue();
    for (const key of ["a", "b", "a", "c", "b"]) q.add(key);
    expect(q.length).toBe(3);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(["a", "b", "c"]);
    expect(q.length).toBe(0);
    expect(await metricValue("workqueue_adds_total", { name: q.name })).toBe(3);
  });

  it("takes higher priorities first, first-in first-out within one", async () => {
    const q = newQueue();
    q.add("low-1", LOW_PRIORITY);
    q.add("low-2", LOW_PRIORITY);
    q.add("normal-1");
    q.add("high", 10);
    q.add("normal-2");
    expect(q.length).toBe(5);
    const order: (string | undefined)[] = [];
    for (let i = 0; i < 5; i++) order.push(await q.get());
    expect(order).toEqual(["high", "normal-1", "normal-2", "low-1", "low-2"]);
  });

  it("hands a waiting worker its key at the end of the turn: one take for two adds, the higher priority first", async () => {
    const q = newQueue();
    const taken: (string | undefined)[] = [];
    const worker = async () => {
      const key = await q.get();
      taken.push(key);
      return key;
    };
    const first = worker();
    q.add("ended-run"); // an event...
    q.add("other");
    q.add("ended-run", HIGH_PRIORITY); // ...and the ending of the same change, raised
    expect(q.inFlight).toBe(0); // nothing taken yet
    await first;
    expect(taken).toEqual(["ended-run"]);
    q.done("ended-run");
    expect(q.length).toBe(1); // not queued again: both adds came before the take
    expect(await worker()).toBe("other");
  });

  it("a key of normal priority waiting over a second takes turns with higher ones; a resync's waits", async () => {
    let now = 0;
    const q = new WorkQueue({ name: `wq-test-${++queues}`, now: () => now });
    q.add("resync", LOW_PRIORITY);
    q.add("event-1");
    q.add("event-2");
    const taken: (string | undefined)[] = [];
    const take = async () => {
      const key = await q.get();
      taken.push(key);
      if (key) q.done(key);
    };
    // Urgent keys keep coming: within the first second the events wait.
    for (let i = 0; i < 3; i++) {
      q.add(`urgent-${i}`, HIGH_PRIORITY);
      now += 300;
      await take();
    }
    expect(taken).toEqual(["urgent-0", "urgent-1", "urgent-2"]);
    // 1.2 s on: the oldest event goes every other take, in order; the resync never jumps ahead.
    now += 300;
    for (let i = 3; i < 9; i++) q.add(`urgent-${i}`, HIGH_PRIORITY);
    for (let i = 0; i < 6; i++) await take();
    expect(taken.slice(3)).toEqual(["event-1", "urgent-3", "event-2", "urgent-4", "urgent-5", "urgent-6"]);
    for (let i = 0; i < 3; i++) await take();
    expect(taken.slice(9)).toEqual(["urgent-7", "urgent-8", "resync"]);
  });

  it("raises a queued key's priority once, never lowers it, and takes it once", async () => {
    const q = newQueue();
    for (const key of ["a", "b", "c"]) q.add(key, LOW_PRIORITY);
    q.add("c"); // an event for c: served before a and b
    q.add("c", LOW_PRIORITY); // a resync does not push it back
    q.add("d");
    expect(q.length).toBe(4);
    const order: (string | undefined)[] = [];
    for (let i = 0; i < 4; i++) order.push(await q.get());
    expect(order).toEqual(["c", "d", "a", "b"]);
    expect(q.length).toBe(0);
    for (const key of ["a", "b", "c", "d"]) q.done(key);
    // c's entry left at LOW_PRIORITY is skipped, not taken again.
    q.add("e", LOW_PRIORITY);
    expect(await q.get()).toBe("e");
    expect(q.length).toBe(0);
    expect(await metricValue("workqueue_adds_total", { name: q.name })).toBe(5);
  });

  it("keeps the raised priority of a key re-added while in flight", async () => {
    const q = newQueue();
    q.add("a");
    expect(await q.get()).toBe("a");
    q.add("a", LOW_PRIORITY);
    q.add("b", LOW_PRIORITY);
    q.add("a"); // raised while in flight
    q.done("a");
    expect([await q.get(), await q.get()]).toEqual(["a", "b"]);
  });

  it("holds a key re-added while in flight until done, then queues it once", async () => {
    const q = newQueue();
    q.add("a");
    expect(await q.get()).toBe("a");
    q.add("a");
    q.add("a");
    expect(q.length).toBe(0);
    expect(await metricValue("workqueue_depth", { name: q.name })).toBe(1);
    q.done("a");
    expect(q.length).toBe(1);
    expect(await q.get()).toBe("a");
    q.done("a");
    expect(q.isIdle()).toBe(true);
    expect(await metricValue("workqueue_depth", { name: q.name })).toBe(0);
  });

  it("never runs one key on two workers, and runs at most `workers` keys at once", async () => {
    const q = newQueue();
    const running = new Set<string>();
    let overlaps = 0;
    let peak = 0;
    let handled = 0;
    const handler = async (key: string) => {
      if (running.has(key)) overlaps++;
      running.add(key);
      peak = Math.max(peak, running.size);
      handled++;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 2));
      if (handled < 300) q.add(`k${Math.floor(Math.random() * 8)}`); // re-add keys, often while in flight
      running.delete(key);
    };
    for (let i = 0; i < 8; i++) q.add(`k${i}`);
    const workers = q.run(5, handler);
    await q.whenIdle();
    await q.shutdown();
    await workers;
    expect(overlaps).toBe(0);
    expect(peak).toBe(5);
    expect(handled).toBeGreaterThanOrEqual(300);
  });

  it("serves 10,000 delayed keys with one timer, in due order", async () => {
    vi.useFakeTimers();
    const q = newQueue();
    const delays = Array.from({ length: 10_000 }, (_, i) => ((i * 7_919) % 10_000) + 1);
    delays.forEach((delay, i) => {
      q.addAfter(`k${i}`, delay);
    });
    expect(vi.getTimerCount()).toBe(1);
    expect(q.delayed).toBe(10_000);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(q.length).toBe(5_000);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(q.length).toBe(10_000);
    expect(vi.getTimerCount()).toBe(0);
    const dues: number[] = [];
    for (let n = 0; n < 10_000; n++) {
      const key = (await q.get()) as string;
      dues.push(delays[Number(key.slice(1))] as number);
      q.done(key);
    }
    expect(dues).toEqual(delays.toSorted((x, y) => x - y));
    expect(q.isIdle()).toBe(true);
    expect(vi.getTimerCount()).toBe(0); // idle: no timer at all
  });

  it("keeps the earlier time when a delayed key is added again", async () => {
    vi.useFakeTimers();
    const q = newQueue();
    q.addAfter("a", 500);
    q.addAfter("a", 100);
    q.addAfter("a", 300);
    expect(q.delayed).toBe(1);
    await vi.advanceTimersByTimeAsync(99);
    expect(q.length).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(q.length).toBe(1);
    expect(q.delayed).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(await metricValue("workqueue_retries_total", { name: q.name })).toBe(3);
  });

  it("backs a failing key off exponentially until forget", async () => {
    vi.useFakeTimers();
    const q = newQueue({ baseMs: 100 });
    expect([q.addRateLimited("a"), q.addRateLimited("a"), q.addRateLimited("a")]).toEqual([100, 200, 400]);
    expect(q.retries("a")).toBe(3);
    await vi.advanceTimersByTimeAsync(100);
    expect(q.length).toBe(1); // the earliest of the three times wins
    q.forget("a");
    expect(q.retries("a")).toBe(0);
    expect(q.addRateLimited("a")).toBe(100);
  });

  it("retries now the keys backing off after failures, keeping their failures; not keys only delayed", async () => {
    vi.useFakeTimers();
    const q = newQueue({ baseMs: 100 });
    for (let i = 0; i < 4; i++) q.addRateLimited("failing"); // next try 800 ms away
    q.addRateLimited("other");
    q.addAfter("delayed", 500); // a dependency not ready yet: no failure, its own delay
    expect(q.length).toBe(0);
    expect(q.retryNow()).toBe(2);
    await vi.advanceTimersByTimeAsync(0);
    expect(q.length).toBe(2);
    expect(q.backingOff("failing")).toBe(false);
    expect(q.delayed).toBe(1); // "delayed" waits its 500 ms
    const taken = [await q.get(), await q.get()];
    expect(taken.sort()).toEqual(["failing", "other"]);
    for (const key of taken) q.done(key as string);
    expect(q.addRateLimited("failing")).toBe(1_000); // its failures kept: 1,600 capped at maxMs
    expect(q.retryNow()).toBe(1);
    await q.shutdown();
    expect(q.retryNow()).toBe(0);
  });

  it("on shutdown drops queued and delayed keys, releases idle workers, and waits for in-flight ones", async () => {
    const q = newQueue();
    q.add("a");
    q.add("b");
    q.addAfter("c", 60_000);
    const inFlight = await q.get();
    let drained = false;
    const shutdown = q.shutdown().then(() => {
      drained = true;
    });
    expect(await q.get()).toBeUndefined();
    q.add("d");
    expect(q.length).toBe(0);
    expect(q.delayed).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(drained).toBe(false);
    q.done(inFlight as string);
    await shutdown;
    expect(drained).toBe(true);
  });

  it("stops `run` workers on shutdown, after their current key", async () => {
    const q = newQueue();
    const seen: string[] = [];
    let release: () => void = () => {};
    const workers = q.run(2, async (key) => {
      seen.push(key);
      if (key === "slow") await new Promise<void>((resolve) => (release = resolve));
    });
    q.add("slow");
    q.add("x");
    await new Promise((resolve) => setImmediate(resolve));
    const shutdown = q.shutdown();
    q.add("late");
    release();
    await shutdown;
    await workers;
    expect(seen.sort()).toEqual(["slow", "x"]);
  });

  it("reports a handler that throws and keeps the worker going", async () => {
    const errors: string[] = [];
    const q = new WorkQueue({ name: `wq-test-${++queues}`, onHandlerError: (key) => errors.push(key) });
    const done: string[] = [];
    const workers = q.run(1, async (key) => {
      if (key === "bad") throw new Error("boom");
      done.push(key);
    });
    q.add("bad");
    q.add("good");
    await q.whenIdle();
    await q.shutdown();
    await workers;
    expect(errors).toEqual(["bad"]);
    expect(done).toEqual(["good"]);
  });

  it("records queue and work durations, depth and in-progress time", async () => {
    vi.useFakeTimers();
    const q = newQueue();
    q.add("a");
    q.add("b");
    expect(await metricValue("workqueue_depth", { name: q.name })).toBe(2);
    await vi.advanceTimersByTimeAsync(2_000);
    const a = await q.get();
    expect(await metricValue("workqueue_depth", { name: q.name })).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await metricValue("workqueue_longest_running_processor_seconds", { name: q.name })).toBeCloseTo(
      1,
      1,
    );
    q.done(a as string);
    expect(await metricValue("workqueue_queue_duration_seconds_count", { name: q.name })).toBe(1);
    expect(await metricValue("workqueue_queue_duration_seconds_sum", { name: q.name })).toBeCloseTo(2, 3);
    expect(await metricValue("workqueue_work_duration_seconds_sum", { name: q.name })).toBeCloseTo(1, 3);
    expect(await metricValue("workqueue_unfinished_work_seconds", { name: q.name })).toBe(0);
    expect(await metricValue("workqueue_longest_running_processor_seconds", { name: q.name })).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("resolves whenIdle only once nothing is queued, in flight or delayed", async () => {
    vi.useFakeTimers();
    const q = newQueue();
    q.addAfter("a", 50);
    let idle = false;
    const waiting = q.whenIdle().then(() => {
      idle = true;
    });
    await vi.advanceTimersByTimeAsync(50);
    expect(idle).toBe(false);
    const key = await q.get();
    await vi.advanceTimersByTimeAsync(0);
    expect(idle).toBe(false);
    q.done(key as string);
    await waiting;
    expect(idle).toBe(true);
  });
  it("lets the event loop poll for I/O while workers take keys whose handlers await nothing", async () => {
    // A backlog of reconciles that read only caches (a restart's pass over unchanged resources, the
    // first looks of queued runs): each resolves in microtasks. A loopback request sent as they
    // start must be answered while they go on, not after the last (~0.6 s of keys here).
    const server = createServer((_req, res) => res.end("ok"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const q = newQueue();
      const keys = 3_000;
      for (let i = 0; i < keys; i++) q.add(`k${i}`);
      let processed = 0;
      const handler = async () => {
        const until = performance.now() + 0.2;
        while (performance.now() < until); // CPU only, as a reconcile from caches
        processed++;
      };
      let atTimer: number | undefined;
      setTimeout(() => {
        atTimer = processed;
      }, 0);
      const answered = new Promise<number>((resolve, reject) => {
        const { port } = server.address() as AddressInfo;
        request({ host: "127.0.0.1", port, path: "/healthz" }, (res) => {
          res.resume();
          res.on("end", () => resolve(processed));
        })
          .on("error", reject)
          .end();
      });
      const running = q.run(4, handler);
      const atAnswer = await answered;
      await q.whenIdle();
      await q.shutdown();
      await running;
      expect(processed).toBe(keys);
      // Each turn takes keys for TURN_BUDGET_MS (~50 of these); the request needs a few turns.
      expect(atTimer).toBeLessThan(keys / 10);
      expect(atAnswer).toBeLessThan(keys / 4);
    } finally {
      server.close();
    }
  });

  it("a worker that waited out a spent turn is handed the next key after the loop turned, by priority", async () => {
    const q = newQueue();
    const spin = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    const order: string[] = [];
    for (let i = 0; i < 3; i++) q.add(`low-${i}`, LOW_PRIORITY);
    const running = q.run(1, async (key) => {
      order.push(key);
      if (key === "low-0") {
        spin(TURN_BUDGET_MS + 2); // spends the turn: the next take waits for the loop
        q.add("urgent", HIGH_PRIORITY); // arrives meanwhile
      }
    });
    await q.whenIdle();
    await q.shutdown();
    await running;
    expect(order).toEqual(["low-0", "urgent", "low-1", "low-2"]);
  });
});

// A waiting run's written position: exact at the head of its queue, within a tenth further back,
// and written O(log n) times while it waits instead of once per admission ahead of it.
import { afterEach, describe, expect, it, vi } from "vitest";

import type { ResourceKey, TrainingJob } from "../../src/api/resources.ts";
import { keyOf } from "../../src/api/resources.ts";
import { TrainingJobReconciler } from "../../src/trainingjob/reconciler.ts";
import {
  EXACT_POSITIONS,
  POSITION_DELAY_MS,
  positionDelayMs,
  positionStale,
} from "../../src/trainingqueue/positions.ts";
import { trainingJob } from "../trainingjob/builders.ts";
import { queueWorld } from "./queue-context.ts";

afterEach(() => {
  vi.useRealTimers();
});

describe("positionStale", () => {
  it.each([
    // written, now, stale
    [5, 5, false],
    [undefined, 3, true],
    [4, undefined, true],
    [undefined, undefined, false],
    [2, 1, true], // the head is exact
    [11, 10, true], // moving into the head
    [10, 11, true], // pushed out of the head by a higher priority
    [11, 11, false],
    [100, 91, false], // off by 9 of 100: under a tenth
    [100, 90, true], // off by a tenth
    [100, 110, true],
    [1000, 901, false],
    [1000, 900, true],
  ])("written %s, now %s: %s", (written, now, stale) => {
    expect(positionStale(written, now)).toBe(stale);
  });
});

describe("positionDelayMs", () => {
  it.each([
    // written, now, delay
    [5, 5, undefined], // not stale: not written
    [undefined, 3, POSITION_DELAY_MS.head],
    [4, undefined, POSITION_DELAY_MS.head],
    [2, 1, POSITION_DELAY_MS.head],
    [11, 10, POSITION_DELAY_MS.head], // into the head
    [10, 11, POSITION_DELAY_MS.head], // out of it
    [100, 91, undefined],
    [100, 90, POSITION_DELAY_MS.tail],
    [20, 12, POSITION_DELAY_MS.tail],
  ])("written %s, now %s: %s ms", (written, now, delay) => {
    expect(positionDelayMs(written, now)).toBe(delay);
  });
});

/** A queue of one GPU and `count` jobs of one GPU each, run-000 to run-<count - 1>, none looked at. */
function oneGpuQueue(count: number, gateOptions: Parameters<typeof queueWorld>[1] = {}) {
  const world = queueWorld({ gpus: 1 }, gateOptions);
  const jobs: TrainingJob[] = [];
  for (let i = 0; i < count; i++) {
    const job = trainingJob(
      { queue: "gpus", resources: { gpus: 1, cpu: 500, memoryMB: 512 } },
      1,
      `run-${String(i).padStart(3, "0")}`,
    );
    world.resources.set(keyOf(job), job);
    jobs.push(job);
  }
  return { ...world, jobs };
}

describe("waiting runs' positions while a queue drains", () => {
  it("keeps the head exact, the rest within a tenth, with far fewer writes than moves", async () => {
    const count = 200;
    const { resources, scheduler, gate, ctx, jobs } = oneGpuQueue(count);
    const reconciler = new TrainingJobReconciler();
    const moved = new Set<ResourceKey>();
    gate.backgroundChanges().subscribe((key) => moved.add(key));
    for (const job of jobs) await reconciler.reconcile(job, ctx);
    moved.clear();

    let rewrites = 0;
    let moves = 0;
    for (let running = 0; running < count - 1; running++) {
      const done = jobs[running] as TrainingJob;
      scheduler.setReplicas(done.metadata.name, "succeeded", { exitCode: 0 });
      await reconciler.reconcile(done, ctx); // releases; admits the next
      await reconciler.reconcile(jobs[running + 1] as TrainingJob, ctx); // registers it
      moves += count - running - 2; // every run still waiting moved up by one
      for (const key of moved) {
        rewrites++;
        await reconciler.reconcile(resources.get(key) as TrainingJob, ctx);
      }
      moved.clear();
      const waiting = jobs.slice(running + 2);
      waiting.forEach((job, i) => {
        const truth = i + 1;
        const written = job.status?.queue?.position as number;
        if (truth <= EXACT_POSITIONS) expect(written, job.metadata.name).toBe(truth);
        else expect(Math.abs(written - truth) * 10, job.metadata.name).toBeLessThan(written);
      });
    }
    expect(scheduler.calls.filter((c) => c.startsWith("submit"))).toHaveLength(count);
    expect(moves).toBe(((count - 1) * (count - 2)) / 2);
    // Each run is written ~log₁.₁(its first position / 10) + 10 times: 5,080 here against 19,701 moves.
    expect(rewrites).toBeLessThan(moves / 3);
  });
  it("with delayPositions, reports a move a second later at the head, ten further back; not once asked; sooner once at the head", async () => {
    vi.useFakeTimers();
    let t = 0;
    const count = 40;
    const { resources, scheduler, gate, ctx } = queueWorld(
      { gpus: 1 },
      { delayPositions: true, now: () => t },
    );
    const jobs: TrainingJob[] = [];
    for (let i = 0; i < count; i++) {
      const job = trainingJob(
        { queue: "gpus", resources: { gpus: 1, cpu: 500, memoryMB: 512 } },
        1,
        `run-${String(i).padStart(3, "0")}`,
      );
      resources.set(keyOf(job), job);
      jobs.push(job);
    }
    const reconciler = new TrainingJobReconciler();
    const reported: string[] = [];
    gate.backgroundChanges().subscribe((k) => reported.push(k.split("/").at(-1) as string));
    for (const job of jobs) await reconciler.reconcile(job, ctx); // run-000 admitted, run-i at position i
    expect(jobs[30]?.status?.queue?.position).toBe(30);
    const at = async (ms: number) => {
      const by = ms - t;
      t = ms; // the gate's clock first: a timer that fires reads it
      await vi.advanceTimersByTimeAsync(by);
    };
    const range = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => `run-${String(from + i).padStart(3, "0")}`);
    // Each step: the running run ends (its release admits the next), the next registers; the runs
    // reported are not reconciled, so their statuses keep the positions first written.
    const step = async (running: number) => {
      scheduler.setReplicas(jobs[running]?.metadata.name as string, "succeeded", { exitCode: 0 });
      await reconciler.reconcile(jobs[running] as TrainingJob, ctx);
      await reconciler.reconcile(jobs[running + 1] as TrainingJob, ctx);
    };
    await step(0); // all moved up one: run-002..010 at the head, run-011 into it (due at 1,000)
    await at(500);
    await step(1); // run-002 admitted; run-012 into the head (1,500); run-013..020 off by a tenth (10,500)
    await at(999);
    expect(reported).toEqual([]); // the first looks' reports were asked (reconciled) before due
    await at(1_000);
    expect(reported).toEqual(range(3, 11)); // run-002 was admitted meanwhile: not reported
    await at(1_500);
    await step(2); // run-013, due at 10,500, reaches the head: due at 2,500; run-021..030 at 11,500
    await at(2_500);
    expect(reported).toEqual(range(3, 13));
    await at(10_499);
    expect(reported).toEqual(range(3, 13));
    await at(10_500);
    expect(reported).toEqual(range(3, 20)); // run-013 once
    await at(11_500);
    expect(reported).toEqual(range(3, 30));
    expect(vi.getTimerCount()).toBe(0); // nothing left to report: no timer
  });
});

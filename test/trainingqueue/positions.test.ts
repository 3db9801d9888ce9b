// A waiting run's written position: exact at the head of its queue, within a tenth further back,
// and written O(log n) times while it waits instead of once per admission ahead of it.
import { Subject } from "rxjs";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { AnyResource, ResourceKey, StatusOf, TrainingJob } from "../../src/api/resources.ts";
import { keyOf } from "../../src/api/resources.ts";
import type { TrainingJobContext } from "../../src/trainingjob/context.ts";
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

/**
 * 40 runs of one gpu in a queue of 1, every one looked at once at 0 (run-000 admitted, run-i at
 * position i), on the gate's clock `at` moves (timers with it); `step(i)`: run-i ends (its release
 * admits the next) and the next registers, the runs reported are not reconciled (their statuses keep
 * the positions first written). `feed`: the gate follows a change feed and is told of each status
 * write, as the composition root does (its reads of the queue are kept).
 */
async function drainingQueue(feed: boolean) {
  vi.useFakeTimers();
  let t = 0;
  const world = queueWorld(
    { gpus: 1 },
    { delayWrites: true, now: () => t, ...(feed ? { changes: new Subject<ResourceKey>() } : {}) },
  );
  const { resources, scheduler, gate } = world;
  const ctx: TrainingJobContext = feed
    ? {
        ...world.ctx,
        status: {
          write: async <R extends AnyResource>(resource: R, status: StatusOf<R>) => {
            await world.ctx.status.write(resource, status);
            gate.noteStatus(keyOf(resource));
          },
        },
      }
    : world.ctx;
  const jobs: TrainingJob[] = [];
  for (let i = 0; i < 40; i++) {
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
  /** When the queue's key was reported for its counts (the gate's clock). */
  const queueAt: number[] = [];
  gate.changes().subscribe((k) => k.startsWith("TrainingQueue/") && queueAt.push(t));
  for (const job of jobs) await reconciler.reconcile(job, ctx);
  expect(jobs[30]?.status?.queue?.position).toBe(30);
  return {
    reported,
    queueAt,
    at: async (ms: number) => {
      const by = ms - t;
      t = ms; // the gate's clock first: a timer that fires reads it
      await vi.advanceTimersByTimeAsync(by);
    },
    step: async (running: number) => {
      scheduler.setReplicas(jobs[running]?.metadata.name as string, "succeeded", { exitCode: 0 });
      await reconciler.reconcile(jobs[running] as TrainingJob, ctx);
      await reconciler.reconcile(jobs[running + 1] as TrainingJob, ctx);
    },
  };
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `run-${String(from + i).padStart(3, "0")}`);

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
  it("with delayWrites, reports a move a second later at the head, ten further back; not once asked; sooner once at the head", async () => {
    const { reported, at, step } = await drainingQueue(false);
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
  it("with delayWrites, reports a queue whose counts changed a second later, once for the changes of that second", async () => {
    const { queueAt, at, step } = await drainingQueue(false);
    await step(0); // releases and admissions at 0 (the first looks admitted run-000 at 0 too)
    await at(500);
    await step(1);
    await at(999);
    expect(queueAt).toEqual([]);
    await at(1_000);
    expect(queueAt).toEqual([1_000]); // one report for the changes at 0 and 500
    await at(1_500);
    await step(2);
    await step(3);
    await at(2_499);
    expect(queueAt).toEqual([1_000]);
    await at(2_500);
    expect(queueAt).toEqual([1_000, 2_500]);
  });
  it("with a change feed, looks past the head of a queue once a second: a tail move is reported from the next look", async () => {
    const { reported, at, step } = await drainingQueue(true);
    await step(0); // within a second of the last whole look (at 0): the head only, run-002..011
    await at(500);
    await step(1); // the head only: run-012 into it (1,500); run-013..020, off by a tenth, not looked at
    await at(1_000);
    expect(reported).toEqual(range(3, 11));
    await at(1_500);
    await step(2); // a second since: every run looked at; run-013 at the head (2,500), run-014..030 (11,500)
    await at(2_500);
    expect(reported).toEqual(range(3, 13));
    await at(10_500);
    expect(reported).toEqual(range(3, 13)); // without the feed, run-014..020 were due now (test above)
    await at(11_500);
    expect(reported).toEqual(range(3, 30));
    expect(vi.getTimerCount()).toBe(0);
  });
});

// A waiting run's written position: exact at the head of its queue, within a tenth further back,
// and written O(log n) times while it waits instead of once per admission ahead of it.
import { describe, expect, it } from "vitest";
import type { ResourceKey, TrainingJob } from "../../src/api/resources.ts";
import { keyOf } from "../../src/api/resources.ts";
import { TrainingJobReconciler } from "../../src/trainingjob/reconciler.ts";
import { EXACT_POSITIONS, positionStale } from "../../src/trainingqueue/positions.ts";
import { trainingJob } from "../trainingjob/builders.ts";
import { queueWorld } from "./queue-context.ts";

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

describe("waiting runs' positions while a queue drains", () => {
  it("keeps the head exact, the rest within a tenth, with far fewer writes than moves", async () => {
    const count = 200;
    const { resources, scheduler, gate, ctx } = queueWorld({ gpus: 1 });
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
});

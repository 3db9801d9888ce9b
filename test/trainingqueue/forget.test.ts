// A deleted TrainingJob leaves nothing in the queue gate: release() remembers a released job (so a
// restarted operator's status-admitted runs are told apart from runs it saw end), which for a job
// that is gone would be kept for the operator's lifetime, two entries per deleted job.
import { describe, expect, it } from "vitest";
import type { TrainingJob } from "../../src/api/resources.ts";
import { keyOf } from "../../src/api/resources.ts";
import { TrainingJobReconciler } from "../../src/trainingjob/reconciler.ts";
import { trainingJob } from "../trainingjob/builders.ts";
import { queueWorld } from "./queue-context.ts";

describe("a deleted queued job", () => {
  it("is forgotten by the gate once finalized, whether it ran, finished or still waited", async () => {
    const { resources, scheduler, gate, ctx } = queueWorld({ runs: 2 });
    const reconciler = new TrainingJobReconciler();
    const jobs: TrainingJob[] = [];
    for (let i = 0; i < 30; i++) {
      const job = trainingJob({ queue: "gpus" }, 1, `run-${String(i).padStart(2, "0")}`); // admission order
      resources.set(keyOf(job), job);
      jobs.push(job);
    }
    for (const job of jobs) await reconciler.reconcile(job, ctx);
    expect(gate.remembered).toBeGreaterThan(0);

    const remove = async (job: TrainingJob) => {
      resources.delete(keyOf(job));
      expect(await reconciler.finalize(keyOf(job), job, ctx)).toBe("done");
    };
    // The first ten run and finish, then are deleted; the next two are deleted while running; the
    // rest while waiting (two of them admitted by the deletions meanwhile).
    for (let i = 0; i < 10; i++) {
      const job = jobs[i] as TrainingJob;
      scheduler.setReplicas(job.metadata.name, "succeeded", { exitCode: 0 });
      await reconciler.reconcile(job, ctx);
      await reconciler.reconcile(jobs[i + 2] as TrainingJob, ctx);
      await remove(job);
    }
    for (const job of jobs.slice(10)) await remove(job);

    expect(scheduler.calls.filter((c) => c.startsWith("submit")).length).toBeGreaterThanOrEqual(12);
    expect(gate.remembered).toBe(0);
  });
});

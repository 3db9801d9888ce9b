import { describe, expect, it } from "vitest";
import type { ResourceKey, TrainingJob, TrainingQueue } from "../../src/api/resources.ts";
import { keyOf } from "../../src/api/resources.ts";
import type { PlannedChange } from "../../src/cli/commands/plan.ts";
import { queueChanges } from "../../src/cli/commands/plan-queues.ts";
import type { ObservedRun } from "../../src/scheduler/port.ts";
import type { RunPlan } from "../../src/trainingjob/plan-run.ts";
import { trainingJob } from "../trainingjob/builders.ts";

const queue = (name: string, spec: Partial<TrainingQueue["spec"]>): TrainingQueue => ({
  apiVersion: "mlops.dev/v1alpha1",
  kind: "TrainingQueue",
  metadata: { name, namespace: "default", generation: 1 },
  spec: { admission: "StrictFIFO", preemption: "Never", ...spec },
});

const running: ObservedRun = {
  ownerId: "o",
  runId: "r",
  generation: 1,
  specHash: "s",
  runSpecHash: "s",
  stopped: false,
  replicas: [{ index: 0, id: "a", state: "running", restarts: 0 }],
};

interface Row {
  name: string;
  gpus: number;
  priority?: number;
  queue?: string;
  /** What the scheduler reports: a live run, or none (a create). */
  live?: boolean;
  /** Seconds after the epoch the job was created (its place in the queue). */
  created?: number;
}

function world(rows: readonly Row[]) {
  const jobs: TrainingJob[] = [];
  const plans = new Map<ResourceKey, RunPlan>();
  const changes: PlannedChange[] = [];
  for (const row of rows) {
    const job = trainingJob(
      {
        ...(row.queue === "" ? {} : { queue: row.queue ?? "gpus" }),
        priority: row.priority ?? 50,
        resources: { gpus: row.gpus, cpu: 100, memoryMB: 64 },
      },
      1,
      row.name,
    );
    job.metadata.creationTimestamp = new Date((row.created ?? 0) * 1000).toISOString();
    jobs.push(job);
    const step = row.live ? { op: "none" } : { op: "submit", why: "create" };
    plans.set(keyOf(job), {
      observed: row.live ? running : undefined,
      decision: { step },
    } as unknown as RunPlan);
    changes.push(
      row.live
        ? { key: keyOf(job), action: "none", detail: "", fields: [] }
        : { key: keyOf(job), action: "create", detail: "new run on nomad x", fields: [] },
    );
  }
  return { jobs, plans, changes };
}

function planned(queues: TrainingQueue[], rows: Row[]): Record<string, string> {
  const { jobs, plans, changes } = world(rows);
  const out = queueChanges(changes, jobs, queues, plans, new Date(1_000_000));
  return Object.fromEntries(out.map((c) => [c.key.split("/").at(-1), `${c.action}: ${c.detail}`]));
}

describe("plan: what queues make of it", () => {
  it("a run that fits is registered (admitted); one that would wait is queued with its reason and position", () => {
    const got = planned(
      [queue("gpus", { quota: { gpus: 2 } })],
      [
        { name: "first", gpus: 2, created: 1 },
        { name: "second", gpus: 1, created: 2 },
        { name: "third", gpus: 1, created: 3 },
        { name: "huge", gpus: 3 },
        { name: "lost", gpus: 1, queue: "nope" },
        { name: "plain", gpus: 8, queue: "" },
      ],
    );
    expect(got).toEqual({
      first: "create: new run on nomad x; admitted by queue default/gpus",
      second: expect.stringMatching(/^queue: WaitingForQuota: position 1 in queue default\/gpus/),
      third: expect.stringMatching(/^queue: WaitingForQuota: position 2 in queue default\/gpus/),
      huge: expect.stringMatching(/^queue: QuotaExceeded: the run requests more than queue default\/gpus/),
      lost: "queue: QueueNotFound: queue default/nope does not exist or is invalid",
      plain: "create: new run on nomad x",
    });
  });

  it("usage is what the scheduler reports running: a live run holds its quota", () => {
    const got = planned(
      [queue("gpus", { quota: { gpus: 2 } })],
      [
        { name: "running", gpus: 2, live: true },
        { name: "next", gpus: 1 },
      ],
    );
    expect(got.running).toBe("none: ");
    expect(got.next).toMatch(/^queue: WaitingForQuota: position 1/);
  });

  it("a queue that preempts shows the run it would stop", () => {
    const got = planned(
      [queue("gpus", { quota: { gpus: 2 }, preemption: "LowerPriority" })],
      [
        { name: "low", gpus: 2, priority: 10, live: true },
        { name: "high", gpus: 2, priority: 90 },
      ],
    );
    expect(got.high).toMatch(/^queue: WaitingForQuota: position 1 .*; preempts TrainingJob\/default\/low$/);
    expect(got.low).toBe("stop: preempted for TrainingJob/default/high");
  });

  it("jobs without a queue are left as they are", () => {
    const { jobs, plans, changes } = world([{ name: "plain", gpus: 1, queue: "" }]);
    expect(queueChanges(changes, jobs, [], plans, new Date())).toEqual(changes);
  });
});

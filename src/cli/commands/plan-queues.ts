// What TrainingQueues make of the plan (pure): a job naming a queue whose run would be submitted is
// registered only if its queue admits it now. The admission core (admission.ts) runs over the
// declared queues, with usage counted from what the scheduler reports (a run with a replica pending
// or running holds its quota; a job plan could not observe counts by its recorded admission). A run
// that would wait shows as `queue` with its reason and position; a queue that preempts shows the
// runs it would stop (as `stop`, preempted).
import { keyOf, type ResourceKey, type TrainingJob, type TrainingQueue } from "../../api/resources.ts";
import { type ObservedRun, occupies } from "../../scheduler/port.ts";
import type { RunPlan } from "../../trainingjob/plan-run.ts";
import {
  type Amounts,
  addAmounts,
  admit,
  type PendingRun,
  requestOf,
} from "../../trainingqueue/admission.ts";
import { queueInputOf } from "../../trainingqueue/input.ts";
import { type AdmittedRun, preemptionFor } from "../../trainingqueue/preemption.ts";
import type { PlannedChange } from "./plan.ts";

export function queueChanges(
  changes: readonly PlannedChange[],
  jobs: readonly TrainingJob[],
  queues: readonly TrainingQueue[],
  plans: ReadonlyMap<ResourceKey, RunPlan>,
  now: Date,
): PlannedChange[] {
  const queued = jobs.filter((j) => j.spec.queue !== undefined);
  if (queued.length === 0) return [...changes];
  const usage = new Map<string, Amounts>();
  const admitted: AdmittedRun[] = [];
  const pending: PendingRun[] = [];
  for (const job of queued) {
    const key = keyOf(job);
    const queue = `${job.metadata.namespace}/${job.spec.queue}`;
    const request = requestOf(job.spec.replicas, job.spec.resources);
    const priority = job.spec.priority ?? 50;
    const plan = plans.get(key);
    const finished = job.status?.run?.outcome !== undefined;
    const holds = plan
      ? live(plan.observed)
      : job.status?.queue?.admittedAt !== undefined && !finished && !job.spec.suspend;
    if (holds) {
      usage.set(queue, addAmounts(usage.get(queue) ?? {}, request));
      const admittedAt = Date.parse(job.status?.queue?.admittedAt ?? "") || now.getTime();
      admitted.push({ id: key, queue, request, priority, admittedAt });
    } else if (plan?.decision.step.op === "submit") {
      const arrival = Date.parse(job.status?.queue?.queuedAt ?? job.metadata.creationTimestamp ?? "");
      pending.push({
        id: key,
        queue,
        request,
        priority,
        arrival: Number.isNaN(arrival) ? now.getTime() : arrival,
      });
    }
  }
  const inputs = queues.map((q) => queueInputOf(q, usage.get(`${q.metadata.namespace}/${q.metadata.name}`)));
  const result = admit(inputs, pending);
  const out = new Map(changes.map((c) => [c.key, c]));
  const byId = new Map(pending.map((p) => [p.id, p]));
  for (const id of result.admitted) {
    const change = out.get(id as ResourceKey);
    const run = byId.get(id);
    if (change && run)
      out.set(change.key, { ...change, detail: `${change.detail}; admitted by queue ${run.queue}` });
    if (run) admitted.push({ ...run, admittedAt: now.getTime() });
  }
  for (const [id, waiting] of result.waiting) {
    const change = out.get(id as ResourceKey);
    const run = byId.get(id);
    if (!change || !run) continue;
    let detail = `${waiting.reason}: ${waiting.message}`;
    if (waiting.position === 1) {
      const choice = preemptionFor(inputs, admitted, run);
      if (choice.preempt && choice.victims.length > 0) {
        detail += `; preempts ${choice.victims.join(", ")}`;
        for (const victim of choice.victims) {
          const stopped = out.get(victim as ResourceKey);
          if (stopped?.action === "none")
            out.set(stopped.key, { ...stopped, action: "stop", detail: `preempted for ${id}` });
        }
      }
    }
    out.set(change.key, { key: change.key, action: "queue", detail, fields: change.fields });
  }
  return [...out.values()];
}

/** The scheduler reports the job holding its quota (occupies), and not stopped. */
function live(observed: ObservedRun | undefined): boolean {
  return observed !== undefined && !observed.stopped && occupies(observed);
}

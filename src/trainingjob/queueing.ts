// A job that names a TrainingQueue (spec.queue) registers its run only once the queue admits it.
// What the scheduler reports is told to the gate first (a live run holds quota; a finished, suspended
// or deleted one releases it), then a submit of a run that holds no quota asks for admission.
import { keyOf, type TrainingJob } from "../api/resources.ts";
import { queueWaitSeconds } from "../observability/metrics.ts";
import type { ObservedRun } from "../scheduler/port.ts";
import type { Decision } from "./decide.ts";
import type { AdmissionGate, QueueWaitReason } from "./ports.ts";

export interface QueueRecord {
  name: string;
  position?: number;
  queuedAt: string;
  admittedAt?: string;
}

export interface QueueState {
  readonly record: QueueRecord;
  /** Set while the run waits: phase Queued, Admitted False with this reason. */
  readonly waiting?: { readonly reason: QueueWaitReason; readonly message: string };
  /** The run holds its queue's quota (Admitted True); neither this nor waiting: no Admitted condition. */
  readonly admitted?: boolean;
}

/** The job's queue state after this reconcile's observation; undefined for a job without a queue. */
export function admission(
  job: TrainingJob,
  gate: AdmissionGate | undefined,
  decision: Decision,
  observed: ObservedRun | undefined,
  now: Date,
): QueueState | undefined {
  const name = job.spec.queue;
  if (!name || !gate) return undefined;
  const key = keyOf(job);
  const finished = decision.outcome !== undefined || job.status?.run?.outcome !== undefined;
  const live = observed?.replicas.some((r) => r.state === "pending" || r.state === "running") ?? false;
  if (job.spec.suspend || (finished && decision.step.op !== "submit")) gate.release(key);
  else if (live) gate.hold(job);

  const previous = job.status?.queue?.name === name ? job.status.queue : undefined;
  const queuedAt = previous?.queuedAt ?? now.toISOString();
  if (decision.step.op === "submit" && !gate.holds(key)) {
    const verdict = gate.admit(job, now);
    if (!verdict.admitted) {
      return {
        record: { name, queuedAt, ...(verdict.position !== undefined ? { position: verdict.position } : {}) },
        waiting: { reason: verdict.reason, message: verdict.message },
      };
    }
    const waited = (now.getTime() - Date.parse(queuedAt)) / 1000;
    queueWaitSeconds.observe({ namespace: job.metadata.namespace, queue: name }, Math.max(0, waited));
    return { record: { name, queuedAt, admittedAt: now.toISOString() }, admitted: true };
  }
  // Suspended or finished: the run holds nothing; a live run keeps its admission.
  const admitted = gate.holds(key);
  return {
    record: {
      name,
      queuedAt,
      ...(admitted && previous?.admittedAt ? { admittedAt: previous.admittedAt } : {}),
    },
    admitted,
  };
}

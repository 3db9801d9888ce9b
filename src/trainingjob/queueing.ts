// A job that names a TrainingQueue (spec.queue) registers its run only once the queue admits it.
// What the scheduler reports is told to the gate first (a live run holds quota; a finished, suspended
// or deleted one releases it), then a submit of a run that holds no quota asks for admission. A live
// run its queue chose to preempt is stopped (its attempt ends, counted infra and charged to no budget)
// and waits again with reason Preempted; its quota is freed once the scheduler reports nothing of it
// running any more (a stopped Nomad job's allocations take a moment to end).
import { isoTime } from "../api/iso-time.ts";
import { keyOf, type TrainingJob } from "../api/resources.ts";
import { queueWaitSeconds } from "../observability/metrics.ts";
import { type ObservedRun, occupies } from "../scheduler/port.ts";
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
  /** The decision to apply instead while the run is preempted: stop it (its attempt ends), or wait for it to stop. */
  readonly preempt?: Decision;
}

/** A run stopped for preemption is looked at again this soon, event or not, to free its quota. */
const LOOK_AGAIN_MS = 1_000;

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
  // A registered run not placed yet is live too: taken for ended, it was let go while Nomad kept it,
  // and placed later over the quota (occupies).
  const live = occupies(observed);
  const stopping = live && observed?.stopped === true;
  if (job.spec.suspend || (finished && decision.step.op !== "submit")) gate.release(key);
  else if (live && !stopping) gate.hold(job);

  const previous = job.status?.queue?.name === name ? job.status.queue : undefined;
  const queuedAt = previous?.queuedAt ?? isoTime(now);
  const preempting = gate.holds(key) ? gate.preempting(key) : undefined;
  if (preempting && live && !stopping) {
    const message = `${preempting.message}; admitted again when quota is free`;
    return {
      record: { name, queuedAt },
      waiting: { reason: "Preempted", message },
      preempt: preemptedDecision(decision, preempting.by, message),
    };
  }
  const requeue = decision.step.op === "submit" && decision.step.why === "requeue";
  if (requeue && stopping) {
    // Stopped for preemption, its replicas not ended yet: it keeps its quota until they have.
    const message = `attempt ${decision.attempt - 1} was preempted; its replicas are stopping`;
    const draining = { ...decision, attempt: decision.attempt - 1, step: { op: "none" as const } };
    return {
      record: { name, queuedAt },
      waiting: { reason: "Preempted", message },
      preempt: { ...draining, outcome: undefined, wakeInMs: LOOK_AGAIN_MS },
    };
  }
  if (preempting) gate.preempted(key); // nothing of it runs any more: its quota is free
  if (decision.step.op === "submit" && !gate.holds(key)) {
    const verdict = gate.admit(job, now);
    if (!verdict.admitted) {
      // A run preempted before waits as Preempted until admitted again (its status says so).
      const last = job.status?.run?.attempts?.at(-1);
      const again = verdict.reason === "WaitingForQuota" && decision.step.why === "requeue";
      const message = again
        ? `attempt ${last?.attempt} was preempted for ${last?.preemptedBy}; ${verdict.message}`
        : verdict.message;
      return {
        record: { name, queuedAt, ...(verdict.position !== undefined ? { position: verdict.position } : {}) },
        waiting: { reason: again ? "Preempted" : verdict.reason, message },
      };
    }
    return admittedNow(job, name, queuedAt, now);
  }
  // Held (above: a submit of a run not held asks), admitted by another's decision (a release, its
  // queue's reconcile) and submitted now: recorded as an asker's admission is.
  if (decision.step.op === "submit" && !previous?.admittedAt) return admittedNow(job, name, queuedAt, now);
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

/** The live run stops for its queue's preemption: its attempt ends, counted infra, charged to no budget. */
export function preemptedDecision(decision: Decision, by: string, message: string): Decision {
  const ended = decision.ended ?? {
    attempt: decision.attempt,
    counted: "infra" as const,
    reason: "Preempted",
    message: `attempt ${decision.attempt}: ${message}`,
    preemptedBy: by.replace(/^TrainingJob\//, ""),
  };
  return {
    ...decision,
    attempt: ended.attempt,
    ended,
    step: { op: "stop", why: "preempted" },
    outcome: undefined,
    wakeInMs: LOOK_AGAIN_MS,
  };
}

/** A run admitted and submitted by this reconcile: when, and how long it waited (the histogram). */
function admittedNow(job: TrainingJob, name: string, queuedAt: string, now: Date): QueueState {
  const waited = (now.getTime() - Date.parse(queuedAt)) / 1000;
  queueWaitSeconds.observe({ namespace: job.metadata.namespace, queue: name }, Math.max(0, waited));
  return { record: { name, queuedAt, admittedAt: isoTime(now) }, admitted: true };
}

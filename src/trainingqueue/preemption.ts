// Which admitted runs to preempt so that a waiting run can be admitted (pure). Only for a queue with
// `preemption: LowerPriority`, only runs of strictly lower priority, and only when preempting them
// lets the waiting run in:
// 1. admitted runs of the waiting run's own queue, the lowest priority first and, among equals, the
//    newest admitted first (the least work lost; a run of middle priority is not stopped only to
//    preempt the lowest one in turn once it waits);
// 2. then, when the waiting run fits its queue's own quota (it reclaims lent quota), runs of the other
//    queues of its cohort that use borrowed quota (their queue uses more than its quota), in the same
//    order, each only while its queue still borrows.
// Then as few as needed: a victim whose preemption turns out not to be needed (one chosen after it
// made room on its own) is spared. A run that could never fit (QuotaExceeded) preempts nothing.
import {
  type AdmissionResult,
  type Amounts,
  addAmounts,
  admit,
  type PendingRun,
  type QueueInput,
  RESOURCES,
} from "./admission.ts";

export interface PreemptingQueue extends Omit<QueueInput, "usage"> {
  readonly preemption: "Never" | "LowerPriority";
}

export interface AdmittedRun {
  readonly id: string;
  readonly queue: string;
  readonly request: Amounts;
  readonly priority: number;
  /** When it was admitted (epoch ms): the newest is preempted first. */
  readonly admittedAt: number;
  /** Chosen to be preempted already, its stop under way: its quota counts as free. */
  readonly preempting?: boolean;
}

export type Preemption =
  /** The run is not helped by preempting (policy Never, never fits, or nothing lower-priority enough). */
  | { readonly preempt: false; readonly why: string }
  /** Preempting these (maybe none: runs already being preempted make room) lets the run in. */
  | { readonly preempt: true; readonly victims: readonly string[] };

export function preemptionFor(
  queues: readonly PreemptingQueue[],
  admitted: readonly AdmittedRun[],
  run: PendingRun,
): Preemption {
  const queue = queues.find((q) => q.id === run.queue);
  if (!queue) return { preempt: false, why: `queue ${run.queue} does not exist or is invalid` };
  if (queue.preemption !== "LowerPriority")
    return { preempt: false, why: `queue ${queue.id} does not preempt (preemption: Never)` };
  const staying = admitted.filter((a) => !a.preempting);
  const verdict = fitsWithout(queues, staying, run, new Set());
  if (verdict.waiting.get(run.id)?.reason === "QuotaExceeded")
    return { preempt: false, why: "the run can never fit its queue: preempting would not help" };
  if (verdict.admitted.includes(run.id)) return { preempt: true, victims: [] };

  const cohort = queue.cohort;
  const lower = staying.filter((a) => a.priority < run.priority).sort(cheapestFirst);
  const own = lower.filter((a) => a.queue === queue.id);
  const borrowers =
    cohort === undefined
      ? []
      : lower.filter((a) => a.queue !== queue.id && queues.find((q) => q.id === a.queue)?.cohort === cohort);

  const chosen = new Set<string>();
  let fits = false;
  for (const victim of own) {
    chosen.add(victim.id);
    if (fitsWithout(queues, staying, run, chosen).admitted.includes(run.id)) {
      fits = true;
      break;
    }
  }
  if (!fits && borrowers.length > 0 && withinOwnQuota(queue, staying, run, chosen)) {
    for (const victim of borrowers) {
      const q = queues.find((x) => x.id === victim.queue);
      if (!q || !borrowing(q, staying, chosen)) continue;
      chosen.add(victim.id);
      if (fitsWithout(queues, staying, run, chosen).admitted.includes(run.id)) {
        fits = true;
        break;
      }
    }
  }
  if (!fits) return { preempt: false, why: "preempting lower-priority runs would not make room" };
  // As few as needed: the last one chosen made room; each chosen before it (the latest first) is
  // spared when the run fits without it.
  const list = [...chosen];
  for (let i = list.length - 2; i >= 0; i--) {
    const id = list[i] as string;
    chosen.delete(id);
    if (!fitsWithout(queues, staying, run, chosen).admitted.includes(run.id)) chosen.add(id);
  }
  return { preempt: true, victims: list.filter((id) => chosen.has(id)) };
}

/** The lowest priority first, then the newest admitted, then id (stable). */
function cheapestFirst(a: AdmittedRun, b: AdmittedRun): number {
  return a.priority - b.priority || b.admittedAt - a.admittedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

function usageOf(queue: string, runs: readonly AdmittedRun[], without: ReadonlySet<string>): Amounts {
  let usage: Amounts = {};
  for (const a of runs) if (a.queue === queue && !without.has(a.id)) usage = addAmounts(usage, a.request);
  return usage;
}

/** The admission core's answer for the run alone, with `without` no longer admitted. */
function fitsWithout(
  queues: readonly PreemptingQueue[],
  runs: readonly AdmittedRun[],
  run: PendingRun,
  without: ReadonlySet<string>,
): AdmissionResult {
  const inputs = queues.map(({ preemption: _p, ...q }) => ({ ...q, usage: usageOf(q.id, runs, without) }));
  return admit(inputs, [run]);
}

/** The run fits its queue's own quota (no borrowing) once `without` is gone. */
function withinOwnQuota(
  queue: PreemptingQueue,
  runs: readonly AdmittedRun[],
  run: PendingRun,
  without: ReadonlySet<string>,
): boolean {
  const used = usageOf(queue.id, runs, without);
  return RESOURCES.every((r) => (used[r] ?? 0) + (run.request[r] ?? 0) <= (queue.quota[r] ?? Infinity));
}

/** The queue uses more than its own quota of some resource (it borrows from its cohort). */
function borrowing(
  queue: PreemptingQueue,
  runs: readonly AdmittedRun[],
  without: ReadonlySet<string>,
): boolean {
  const used = usageOf(queue.id, runs, without);
  return RESOURCES.some((r) => (used[r] ?? 0) > (queue.quota[r] ?? Infinity));
}

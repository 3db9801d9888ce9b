// The admission core: which pending runs the queues admit now, from the queues (quota, cohort,
// borrowing limit, admission policy), what their admitted runs use, and the pending runs. Pure: the
// same input always gives the same answer, and nothing here knows a scheduler or a resource.
//
// A queue may use up to its quota plus, in a cohort, its borrowing limit (absent: no limit of its
// own); a cohort's queues together never use more than the sum of their quotas. An absent quota is
// unlimited. Runs are taken in one order: priority (higher first), then arrival, then id.

import { Waitlist } from "./waitlist.ts";

export const RESOURCES = ["gpus", "cpu", "memoryMB", "runs"] as const;
export type ResourceName = (typeof RESOURCES)[number];
export type Amounts = { readonly [R in ResourceName]?: number };

export interface QueueInput {
  /** `namespace/name`. */
  readonly id: string;
  readonly quota: Amounts;
  readonly cohort?: string | undefined;
  readonly borrowingLimit?: Amounts | undefined;
  readonly admission: "StrictFIFO" | "BestEffortFIFO";
  /** What the queue's admitted runs request together. */
  readonly usage: Amounts;
}

export interface PendingRun {
  readonly id: string;
  /** The queue's id; a queue not among the inputs leaves the run QueueNotFound. */
  readonly queue: string;
  /** replicas × resources, and runs: 1. */
  readonly request: Amounts;
  readonly priority: number;
  /** When the run was first seen (epoch ms). */
  readonly arrival: number;
}

export type WaitReason = "WaitingForQuota" | "QuotaExceeded" | "QueueNotFound";

export interface Waiting {
  readonly reason: WaitReason;
  /** 1 is the next run of its queue to be admitted; absent when the run can never be admitted. */
  readonly position?: number;
  readonly message: string;
}

export interface AdmissionResult {
  /** Ids of the runs admitted now, in the order they were admitted. */
  readonly admitted: readonly string[];
  /** Every run not admitted, why, and its place in line (positions counted when asked for). */
  readonly waiting: Waitlist;
  /** Each queue's usage after these admissions. */
  readonly usage: ReadonlyMap<string, Amounts>;
}

/** The order runs are admitted in: priority (higher first), arrival, then id. */
export function byPriority(a: PendingRun, b: PendingRun): number {
  return b.priority - a.priority || a.arrival - b.arrival || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * What the queues admit now of `pending`. `ordered`: `pending` is in admission order already
 * (byPriority) with no id twice, as a scope's kept runs are (scope-memo.ts): not sorted again.
 */
export function admit(
  queues: readonly QueueInput[],
  pending: readonly PendingRun[],
  options: { readonly ordered?: boolean } = {},
): AdmissionResult {
  const byId = new Map(queues.map((q) => [q.id, q]));
  const usage = new Map<string, Record<ResourceName, number>>(queues.map((q) => [q.id, filled(q.usage)]));
  const cohortQuota = new Map<string, Record<ResourceName, number>>();
  const cohortUsed = new Map<string, Record<ResourceName, number>>();
  for (const q of queues) {
    if (q.cohort === undefined) continue;
    const sum = cohortQuota.get(q.cohort) ?? filled({});
    const used = cohortUsed.get(q.cohort) ?? filled({});
    for (const r of RESOURCES) {
      sum[r] += limit(q.quota[r]);
      used[r] += q.usage[r] ?? 0;
    }
    cohortQuota.set(q.cohort, sum);
    cohortUsed.set(q.cohort, used);
  }
  const cohortUsage = (cohort: string, r: ResourceName) => cohortUsed.get(cohort)?.[r] ?? 0;

  /** The most a queue may ever use of a resource: its quota plus what it may borrow. */
  const ceiling = (q: QueueInput, r: ResourceName) => {
    const own = limit(q.quota[r]);
    if (q.cohort === undefined) return own;
    const cohort = cohortQuota.get(q.cohort)?.[r] ?? own;
    return Math.min(own + limit(q.borrowingLimit?.[r]), cohort);
  };
  /** Each queue's ceilings, in RESOURCES' order: read for every waiting run of a decision. */
  const ceilings = new Map(queues.map((q) => [q.id, RESOURCES.map((r) => ceiling(q, r))]));
  const fits = (q: QueueInput, run: PendingRun) =>
    RESOURCES.every((r) => {
      const need = run.request[r] ?? 0;
      if (need === 0) return true;
      const used = usage.get(q.id)?.[r] ?? 0;
      if (used + need > ceiling(q, r)) return false;
      if (q.cohort === undefined) return true;
      return cohortUsage(q.cohort, r) + need <= (cohortQuota.get(q.cohort)?.[r] ?? Number.POSITIVE_INFINITY);
    });

  const admitted: string[] = [];
  /** Runs that can never be admitted (or have no queue): the rest of those not admitted wait in line. */
  const unplaced = new Map<string, Waiting>();
  const blocked = new Set<string>();
  const ordered = options.ordered ? pending : once([...pending].sort(byPriority));
  for (const run of ordered) {
    const q = byId.get(run.queue);
    if (!q) {
      unplaced.set(run.id, {
        reason: "QueueNotFound",
        message: `queue ${run.queue} does not exist or is invalid`,
      });
      continue;
    }
    if (exceeds(run, ceilings.get(q.id) as number[])) {
      const over = RESOURCES.filter((r) => (run.request[r] ?? 0) > ceiling(q, r));
      const what = over.map((r) => `${r} ${run.request[r]} > ${ceiling(q, r)}`).join(", ");
      unplaced.set(run.id, {
        reason: "QuotaExceeded",
        message: `the run requests more than queue ${q.id} may ever use (${what}); it is never admitted`,
      });
      continue;
    }
    if (blocked.has(q.id)) continue; // waits in line (StrictFIFO: behind a run that does not fit)
    if (fits(q, run)) {
      admitted.push(run.id);
      const used = usage.get(q.id) as Record<ResourceName, number>;
      const inCohort = q.cohort === undefined ? undefined : cohortUsed.get(q.cohort);
      for (const r of RESOURCES) {
        used[r] += run.request[r] ?? 0;
        if (inCohort) inCohort[r] += run.request[r] ?? 0;
      }
      continue;
    }
    if (q.admission === "StrictFIFO") blocked.add(q.id);
  }
  // Positions: consecutive within each queue, in admission order, among the runs that can be admitted.
  return { admitted, waiting: new Waitlist(ordered, new Set(admitted), unplaced), usage };
}

/** Whether the run requests more of a resource than its queue may ever use (`ceilings`, by RESOURCES). */
function exceeds(run: PendingRun, ceilings: readonly number[]): boolean {
  for (let i = 0; i < RESOURCES.length; i++) {
    if ((run.request[RESOURCES[i] as ResourceName] ?? 0) > (ceilings[i] as number)) return true;
  }
  return false;
}

/** The runs without a second entry of the same id (the first one kept). */
function once(runs: PendingRun[]): PendingRun[] {
  const seen = new Set<string>();
  return runs.filter((run) => {
    if (seen.has(run.id)) return false;
    seen.add(run.id);
    return true;
  });
}

/** A run's request: replicas × its resources, and one run. */
export function requestOf(
  replicas: number,
  resources: { gpus?: number; cpu?: number; memoryMB?: number },
): Amounts {
  return {
    gpus: replicas * (resources.gpus ?? 0),
    cpu: replicas * (resources.cpu ?? 0),
    memoryMB: replicas * (resources.memoryMB ?? 0),
    runs: 1,
  };
}

export function addAmounts(a: Amounts, b: Amounts): Amounts {
  return Object.fromEntries(RESOURCES.map((r) => [r, (a[r] ?? 0) + (b[r] ?? 0)])) as Amounts;
}

function filled(a: Amounts): Record<ResourceName, number> {
  return { gpus: a.gpus ?? 0, cpu: a.cpu ?? 0, memoryMB: a.memoryMB ?? 0, runs: a.runs ?? 0 };
}

function limit(value: number | undefined): number {
  return value ?? Number.POSITIVE_INFINITY;
}

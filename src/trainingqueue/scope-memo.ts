// What admission last read and decided for each scope (one queue, or the queues of one cohort), kept
// until something it was decided from changes. Each TrainingJob of a scope has an entry: it holds
// quota (its queue and request) or it waits (its pending run); a job that does neither (finished,
// suspended, released as done) has none. The gate updates a job's entry whenever anything it is
// derived from may have changed (the job's spec, its status, the gate's own holds and releases), and
// a changed entry drops the scope's decision: the next call decides again from the entries, without
// reading every job. A queue's change drops every scope (its quota, policy or cohort may have moved).
// The scope's waiting runs are also kept in admission order, updated as entries change, so that a
// decision (one per release) does not sort the whole queue again: a release changes no waiting run.
import type { ResourceKey } from "../api/resources.ts";
import {
  type AdmissionResult,
  type Amounts,
  byPriority,
  type PendingRun,
  type QueueInput,
  RESOURCES,
  type ResourceName,
} from "./admission.ts";
import type { PreemptingQueue } from "./preemption.ts";

export type Entry =
  | { readonly state: "holding"; readonly queue: string; readonly request: Amounts }
  | {
      readonly state: "pending";
      readonly queue: string;
      readonly run: PendingRun;
      /** The position the job's status holds, as last written (not an input of admission). */
      readonly recorded: number | undefined;
    };

export interface Decided {
  /** The scope's queues, their usage as it is after the admissions below. */
  readonly queues: readonly (QueueInput & PreemptingQueue)[];
  /** Every run of the scope that waits, and why; no admissions (they were taken when decided). */
  readonly result: AdmissionResult;
}

export interface Scope {
  readonly ids: ReadonlySet<string>;
  readonly entries: Map<ResourceKey, Entry>;
  /** The decision for the current entries; undefined once an entry or a queue changed. */
  decided: Decided | undefined;
  /** The waiting runs of `entries` in admission order (byPriority); undefined until first asked for. */
  ordered: PendingRun[] | undefined;
  /** What the holding entries request together, per queue (a queue with none: absent). */
  readonly usage: Map<string, Record<ResourceName, number>>;
  /** When the gate last looked at the written position of every waiting run (its clock, ms). */
  walkedAt: number;
}

/** The scope's waiting runs in admission order (byPriority), kept from now on as entries change. */
export function orderedRuns(scope: Scope): readonly PendingRun[] {
  if (scope.ordered === undefined) {
    const runs: PendingRun[] = [];
    for (const entry of scope.entries.values()) if (entry.state === "pending") runs.push(entry.run);
    scope.ordered = runs.sort(byPriority);
  }
  return scope.ordered;
}

export class ScopeMemos {
  readonly #byQueue = new Map<string, Scope>();
  readonly #byKey = new Map<ResourceKey, Scope>();

  /** The scope of exactly these queues, if one is kept. */
  get(ids: ReadonlySet<string>): Scope | undefined {
    const first = ids.values().next().value;
    const scope = first === undefined ? undefined : this.#byQueue.get(first);
    if (!scope || scope.ids.size !== ids.size) return undefined;
    for (const id of ids) if (!scope.ids.has(id)) return undefined;
    return scope;
  }

  /** Keeps a scope read from the jobs now; any kept scope sharing one of its queues is dropped. */
  put(ids: ReadonlySet<string>, entries: Map<ResourceKey, Entry>): Scope {
    for (const id of ids) {
      const other = this.#byQueue.get(id);
      if (other) this.#drop(other);
    }
    const scope: Scope = {
      ids: new Set(ids),
      entries,
      decided: undefined,
      ordered: undefined,
      usage: usageOf(entries),
      walkedAt: Number.NEGATIVE_INFINITY,
    };
    for (const id of ids) this.#byQueue.set(id, scope);
    for (const key of entries.keys()) this.#byKey.set(key, scope);
    return scope;
  }

  /** Whether a job's entry matters: it has one, or its queue (`queue`) belongs to a kept scope. */
  wants(key: ResourceKey, queue: string | undefined): boolean {
    return this.#byKey.has(key) || (queue !== undefined && this.#byQueue.has(queue));
  }

  /** The job's entry now (undefined: it neither holds nor waits, or names no queue of a kept scope). */
  update(key: ResourceKey, entry: Entry | undefined): void {
    const before = this.#byKey.get(key);
    const previous = before?.entries.get(key);
    const after = entry === undefined ? undefined : this.#byQueue.get(entry.queue);
    if (before !== undefined && before === after && previous && entry && sameEntry(previous, entry)) {
      if (entry !== previous) before.entries.set(key, entry); // a new recorded position only
      return;
    }
    if (before) {
      before.entries.delete(key);
      before.decided = undefined;
      if (previous?.state === "pending") unorder(before, previous.run);
      if (previous) use(before.usage, previous, -1);
      this.#byKey.delete(key);
    }
    if (after && entry) {
      after.entries.set(key, entry);
      after.decided = undefined;
      if (entry.state === "pending") order(after, entry.run);
      use(after.usage, entry, 1);
      this.#byKey.set(key, after);
    }
  }

  clear(): void {
    this.#byQueue.clear();
    this.#byKey.clear();
  }

  #drop(scope: Scope): void {
    for (const id of scope.ids) if (this.#byQueue.get(id) === scope) this.#byQueue.delete(id);
    for (const key of scope.entries.keys()) if (this.#byKey.get(key) === scope) this.#byKey.delete(key);
  }
}

/** What the holding entries request together, per queue. */
export function usageOf(entries: ReadonlyMap<ResourceKey, Entry>): Map<string, Record<ResourceName, number>> {
  const usage = new Map<string, Record<ResourceName, number>>();
  for (const entry of entries.values()) use(usage, entry, 1);
  return usage;
}

/** Adds (`sign` 1) or takes away (-1) what a holding entry requests; a waiting one uses nothing. */
function use(usage: Map<string, Record<ResourceName, number>>, entry: Entry, sign: 1 | -1): void {
  if (entry.state !== "holding") return;
  let sum = usage.get(entry.queue);
  if (!sum) {
    sum = { gpus: 0, cpu: 0, memoryMB: 0, runs: 0 };
    usage.set(entry.queue, sum);
  }
  for (const r of RESOURCES) sum[r] += sign * (entry.request[r] ?? 0);
}

/** Where `run` goes in the scope's ordered runs (the first place not before it). */
function placeOf(ordered: readonly PendingRun[], run: PendingRun): number {
  let low = 0;
  let high = ordered.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (byPriority(ordered[mid] as PendingRun, run) < 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

function order(scope: Scope, run: PendingRun): void {
  if (scope.ordered === undefined) return; // built when first asked for
  scope.ordered.splice(placeOf(scope.ordered, run), 0, run);
}

function unorder(scope: Scope, run: PendingRun): void {
  if (scope.ordered === undefined) return;
  const at = placeOf(scope.ordered, run);
  if (scope.ordered[at]?.id === run.id) scope.ordered.splice(at, 1);
  else scope.ordered = undefined; // not where its order says (never expected): built again when asked for
}

/** The same input to admission (a pending run's recorded position is not one). */
export function sameEntry(a: Entry, b: Entry): boolean {
  if (a.queue !== b.queue) return false;
  if (a.state === "holding") return b.state === "holding" && sameAmounts(a.request, b.request);
  if (b.state !== "pending") return false;
  const x = a.run;
  const y = b.run;
  return (
    x.id === y.id &&
    x.queue === y.queue &&
    x.priority === y.priority &&
    x.arrival === y.arrival &&
    sameAmounts(x.request, y.request)
  );
}

function sameAmounts(a: Amounts, b: Amounts): boolean {
  return RESOURCES.every((r) => (a[r] ?? 0) === (b[r] ?? 0));
}

// metav1.Condition semantics, in one place: lastTransitionTime changes only when status changes,
// every condition carries observedGeneration, and conditions are kept in a stable order.
import { isoTime } from "./iso-time.ts";
import { byCodeUnits } from "./order.ts";

export type ConditionStatus = "True" | "False" | "Unknown";

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export type ConditionInput = Omit<Condition, "lastTransitionTime" | "observedGeneration">;

/** kstatus's abnormal-true polarity conditions, then Ready, then kind-specific ones alphabetically. */
const ORDER = ["Ready", "Reconciling", "Stalled"];

function rank(type: string): number {
  const i = ORDER.indexOf(type);
  return i === -1 ? ORDER.length : i;
}

/**
 * Returns `conditions` with `input` set: the transition time is kept when the status is unchanged,
 * and taken from `now` when it changes or the condition is new. Pure; does not mutate.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  generation: number,
  now: Date,
): Condition[] {
  const current = conditions ?? [];
  const previous = current.find((c) => c.type === input.type);
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message,
    lastTransitionTime:
      previous && previous.status === input.status ? previous.lastTransitionTime : isoTime(now),
    observedGeneration: generation,
  };
  const rest = current.filter((c) => c.type !== input.type);
  return [...rest, next].sort(byRank);
}

function byRank(a: Condition, b: Condition): number {
  return rank(a.type) - rank(b.type) || byCodeUnits(a.type, b.type);
}

/**
 * Sets several conditions at once; types not named in `inputs` are dropped (status is computed whole).
 * The same as `setCondition` for each input in turn, then the unnamed types dropped, in one pass and
 * one sort (a status is built at every reconcile).
 */
export function setConditions(
  conditions: readonly Condition[] | undefined,
  inputs: readonly ConditionInput[],
  generation: number,
  now: Date,
): Condition[] {
  const set = new Map<string, Condition>();
  const stamp = isoTime(now);
  for (const input of inputs) {
    const previous = set.get(input.type) ?? conditions?.find((c) => c.type === input.type);
    set.set(input.type, {
      type: input.type,
      status: input.status,
      reason: input.reason,
      message: input.message,
      lastTransitionTime: previous && previous.status === input.status ? previous.lastTransitionTime : stamp,
      observedGeneration: generation,
    });
  }
  return [...set.values()].sort(byRank);
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Equality that ignores timestamps: status is written only when this says it changed. */
export function sameIgnoringTimes(a: unknown, b: unknown): boolean {
  return JSON.stringify(stripTimes(a)) === JSON.stringify(stripTimes(b));
}

function stripTimes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripTimes);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    if (key === "lastTransitionTime" || key === "lastUpdateTime") continue;
    out[key] = stripTimes((value as Record<string, unknown>)[key]);
  }
  return out;
}

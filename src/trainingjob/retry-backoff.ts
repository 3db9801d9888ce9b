// When a failed attempt's retry starts (pure). Without spec.retryPolicy.backoff, at once (as before).
// With it, the retry after the run's n-th failure charged to a budget (user or infra; an attempt its
// queue preempted is not a failure) starts delaySeconds × factor^(n-1) after that failure ended, at
// most maxDelaySeconds: Kubernetes Jobs wait 10 s doubling up to 6 minutes, Nomad's reschedule policy
// has delay, delay_function and max_delay. A crash-looping trainer (a dataset not there yet, a
// service it needs restarting) then does not use its whole backoffLimit in a few seconds.
import type { TrainingJobSpec } from "../api/generated/types.ts";
import type { AttemptHistory } from "./attempt-verdict.ts";
import type { RunRecord } from "./decide.ts";

const DEFAULT_FACTOR = 2;
const DEFAULT_MAX_DELAY_SECONDS = 360;

/** The wait before the retry that follows the run's `failures`-th failure, in ms (0: at once). */
export function retryDelayMs(spec: Pick<TrainingJobSpec, "retryPolicy">, failures: number): number {
  const backoff = spec.retryPolicy?.backoff;
  if (!backoff || failures < 1) return 0;
  const factor = backoff.factor ?? DEFAULT_FACTOR;
  const max = backoff.maxDelaySeconds ?? DEFAULT_MAX_DELAY_SECONDS;
  // The exponent is bounded by the budgets (≤ 200 failures), the product by the cap.
  return Math.min(max, backoff.delaySeconds * factor ** (failures - 1)) * 1000;
}

/** The failures charged to a budget so far, the attempt that has just failed included. */
export function failuresOf(history: AttemptHistory): number {
  return history.earlier.filter((counted) => counted !== undefined).length + 1;
}

/**
 * The attempt recorded as failed whose retry was not submitted yet (it waits for its backoff), or
 * undefined. Without a backoff a failure and its retry are recorded in one status write, so the last
 * attempt of a run never ends unretried but by an outcome or a queue's preemption.
 */
export function awaitingRetry(
  recorded: RunRecord | undefined,
  observedAttempt: number | undefined,
): NonNullable<RunRecord["attempts"]>[number] | undefined {
  const last = recorded?.attempts?.at(-1);
  if (!last || recorded?.outcome !== undefined) return undefined;
  if (last.completionTime === undefined || last.counted === undefined || last.preemptedBy !== undefined)
    return undefined;
  return (observedAttempt ?? 0) <= last.attempt ? last : undefined;
}

/** When the failed attempt ended (as recorded, or as the scheduler reports it), else now. */
export function endedAt(time: string | undefined, now: Date): number {
  const ms = time === undefined ? Number.NaN : Date.parse(time);
  return Number.isFinite(ms) ? ms : now.getTime();
}

// The one backoff curve and the one abortable pause, for every retry loop of the operator: the
// controller's per-key backoff, the event streams (Docker, Nomad), the Kubernetes watch, the Consul
// blocking query and the HTTP client's retries. Each names its parameters where it calls.
import { setTimeout as wait } from "node:timers/promises";

export interface BackoffCurve {
  /** Delay after the first failure. */
  readonly initialMs: number;
  /** Upper bound of any delay. */
  readonly maxMs: number;
  /** Fraction in [0, 1]: the delay is scaled by a random factor in [1 - jitter, 1 + jitter], then capped. */
  readonly jitter?: number;
}

/** The delay before retry `attempt` (0 → initialMs), doubling, jittered, never above maxMs. */
export function backoffDelay(
  attempt: number,
  curve: BackoffCurve,
  random: () => number = Math.random,
): number {
  // 2^50 × initial is beyond any cap; stop there so the power never overflows.
  const exact = Math.min(curve.maxMs, curve.initialMs * 2 ** Math.min(Math.max(0, attempt), 50));
  const jitter = curve.jitter ?? 0;
  if (jitter === 0) return exact;
  const factor = 1 - jitter + 2 * jitter * random();
  return Math.min(curve.maxMs, Math.max(0, Math.round(exact * factor)));
}

/** Waits `ms`, or less when `signal` aborts; never rejects (the caller checks the signal). */
export async function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return;
  try {
    await wait(Math.max(0, ms), undefined, signal ? { signal } : {});
  } catch (error) {
    if ((error as { name?: string }).name !== "AbortError") throw error;
  }
}

// Per-key exponential backoff, like client-go's ItemExponentialFailureRateLimiter: each failure of a
// key doubles its delay, from `baseMs` up to `maxMs` (Flux's defaults: 750 ms to 15 min); a success
// (`forget`) starts the key over. Optional jitter spreads retries of keys that failed together.

import { backoffDelay } from "../api/backoff.ts";

export interface BackoffOptions {
  /** Delay after the first failure. Default 750 ms. */
  readonly baseMs?: number;
  /** Upper bound of any delay. Default 15 min. */
  readonly maxMs?: number;
  /** Fraction in [0, 1]: each delay is scaled by a random factor in [1 - jitter, 1 + jitter], then capped. Default 0. */
  readonly jitter?: number;
  /** Source of randomness in [0, 1), for tests. Default Math.random. */
  readonly random?: () => number;
}

export const DEFAULT_BACKOFF_BASE_MS = 750;
export const DEFAULT_BACKOFF_MAX_MS = 15 * 60_000;

export class Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly jitter: number;
  readonly #random: () => number;
  readonly #failures = new Map<string, number>();

  constructor(options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? DEFAULT_BACKOFF_BASE_MS;
    this.maxMs = options.maxMs ?? DEFAULT_BACKOFF_MAX_MS;
    this.jitter = options.jitter ?? 0;
    this.#random = options.random ?? Math.random;
    if (!(this.baseMs > 0) || !(this.maxMs >= this.baseMs)) {
      throw new RangeError(
        `backoff: need 0 < baseMs <= maxMs, got baseMs=${this.baseMs} maxMs=${this.maxMs}`,
      );
    }
    if (!(this.jitter >= 0 && this.jitter <= 1)) {
      throw new RangeError(`backoff: jitter must be within [0, 1], got ${this.jitter}`);
    }
  }

  /** Records one more failure of `key` and returns how long to wait before its next attempt. */
  next(key: string): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    return this.delayFor(failures);
  }

  /** The delay after `failures` previous failures (0 → baseMs), jitter included, never above maxMs. */
  delayFor(failures: number): number {
    return backoffDelay(
      failures,
      { initialMs: this.baseMs, maxMs: this.maxMs, jitter: this.jitter },
      this.#random,
    );
  }

  /** Failures recorded for `key` since it was last forgotten. */
  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Starts `key` over (after a success, or when it is gone). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** Number of keys with failures recorded. */
  get size(): number {
    return this.#failures.size;
  }
}

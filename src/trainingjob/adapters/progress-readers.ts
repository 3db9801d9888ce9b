// The ProgressReader port's adapters: the stack's Prometheus (which scrapes the run through Consul or
// HTTP service discovery, labelling its series mlops_namespace and mlops_name), a direct scrape of
// the run's replicas, and a rate limit in front of either. A run's progress is its slowest replica's.
import { PrometheusClient, promString, type Sample, scrapeMetrics } from "../../clients/prometheus/index.ts";
import type { ProgressReader, ProgressTarget, RunProgress } from "../ports.ts";

export const PROGRESS_METRIC = "mlops_training_progress_ratio";
export const EPOCH_METRIC = "mlops_training_epoch";
const NAMES = new Set([PROGRESS_METRIC, EPOCH_METRIC]);

/** Progress from the slowest replica of each metric; undefined when neither metric is present. */
export function progressOf(samples: readonly Sample[]): RunProgress | undefined {
  const min = (name: string) => {
    const values = samples.filter((s) => s.metric.__name__ === name && Number.isFinite(s.value));
    return values.length === 0 ? undefined : Math.min(...values.map((s) => s.value));
  };
  const ratio = min(PROGRESS_METRIC);
  const epoch = min(EPOCH_METRIC);
  if (ratio === undefined && epoch === undefined) return undefined;
  return {
    ...(ratio !== undefined ? { ratio: Math.round(Math.min(1, Math.max(0, ratio)) * 10_000) / 10_000 } : {}),
    ...(epoch !== undefined ? { epoch: Math.max(0, Math.floor(epoch)) } : {}),
  };
}

export class PrometheusProgressReader implements ProgressReader {
  readonly #client: PrometheusClient;

  constructor(client: PrometheusClient | string) {
    this.#client = typeof client === "string" ? new PrometheusClient(client) : client;
  }

  async read(target: ProgressTarget): Promise<RunProgress | undefined> {
    const selector = `__name__=~"${PROGRESS_METRIC}|${EPOCH_METRIC}",mlops_namespace=${promString(target.namespace)},mlops_name=${promString(target.name)}`;
    return progressOf(await this.#client.query(`min by (__name__) ({${selector}})`));
  }
}

export class ScrapeProgressReader implements ProgressReader {
  async read(target: ProgressTarget): Promise<RunProgress | undefined> {
    if (target.addresses.length === 0) return undefined;
    const samples = await Promise.all(target.addresses.map((a) => scrapeMetrics(a, target.path, NAMES)));
    return progressOf(samples.flat());
  }
}

/**
 * At most one read per run per interval: between reads the last answer (or error) is returned again,
 * so a reconcile loop, a resync or many runs never turn into a scrape storm.
 */
export class RateLimitedProgressReader implements ProgressReader {
  readonly #inner: ProgressReader;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #last = new Map<string, { at: number; result: Promise<RunProgress | undefined> }>();
  #sweptAt = 0;

  constructor(inner: ProgressReader, intervalMs: number, now: () => number = Date.now) {
    this.#inner = inner;
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  read(target: ProgressTarget): Promise<RunProgress | undefined> {
    const now = this.#now();
    this.#sweep(now);
    const last = this.#last.get(target.key);
    if (last && now - last.at < this.#intervalMs) return last.result;
    const result = this.#inner.read(target);
    result.catch(() => undefined); // the caller sees the rejection; the cache must not be unhandled
    this.#last.set(target.key, { at: now, result });
    return result;
  }

  /** Answers older than the interval are never returned again: drop them (finished, deleted runs). */
  #sweep(now: number): void {
    if (now - this.#sweptAt < this.#intervalMs) return;
    this.#sweptAt = now;
    for (const [key, entry] of this.#last) if (now - entry.at >= this.#intervalMs) this.#last.delete(key);
  }

  /** Runs with an answer kept (for tests and debugging). */
  get size(): number {
    return this.#last.size;
  }
}

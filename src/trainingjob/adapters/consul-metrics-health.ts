// MetricsHealth from Consul: ONE blocking query for all the operator's services
// (GET /v1/health/state/any?filter="mlops-operator" in ServiceTags&index=&wait=), never one per job.
// The loop follows Consul's blocking-query rules: the index goes forward only (a smaller
// X-Consul-Index, as after a snapshot restore, resets it to 0, which answers at once), consecutive
// queries are at least minIntervalMs apart, errors back off exponentially (bounded, with jitter)
// and never end the loop, and a query that outlives wait + wait/16 + margin counts as stalled and
// is retried. Checks name only the service; the owning resource comes from the service's Meta,
// resolved once per service instance (the local agent's listing in bulk at start-up or in large
// bursts, else the catalog by service name). Instances without checks are not counted.
// While Consul is unreachable the last known health is kept and `lastError` says why.

import type { Logger } from "pino";
import { type Observable, Subject } from "rxjs";
import { backoffDelay, pause } from "../../api/backoff.ts";
import { OperatorError, reasonOf } from "../../api/errors.ts";
import type { ResourceKey } from "../../api/resources.ts";
import type { ConsulClient, HealthCheck } from "../../clients/consul/index.ts";
import { watchRestarts } from "../../observability/metrics.ts";
import type { MetricsHealth, ServiceHealth } from "../ports.ts";
import {
  aggregateHealth,
  changedKeys,
  OPERATOR_SERVICE_TAG,
  operatorChecksFilter,
  ownerFromMeta,
} from "./consul-checks.ts";

const WATCH = "consul-health";
/** Above this many unknown instances, owners come from one agent listing instead of per-name lookups. */
const BULK_LOOKUP = 16;

export interface ConsulMetricsHealthOptions {
  client: Pick<ConsulClient, "checksInState" | "agentServices" | "catalogService">;
  /** Tag on the operator's services (default `mlops-operator`). */
  tag?: string;
  /** Blocking wait (default 5 min). */
  waitMs?: number;
  /** Least time between two queries (default 250 ms): coalesces bursts of check updates. */
  minIntervalMs?: number;
  /** Backoff after errors: initial and cap (default 500 ms and 30 s). */
  backoffMs?: { initial: number; max: number };
  logger?: Logger;
}

export class ConsulMetricsHealth implements MetricsHealth {
  readonly #options: ConsulMetricsHealthOptions;
  readonly #abort = new AbortController();
  readonly #changes = new Subject<ResourceKey>();
  /** ServiceID → owning resource (null: a tagged service without valid owner Meta). */
  readonly #owners = new Map<string, ResourceKey | null>();
  #health = new Map<ResourceKey, ServiceHealth>();
  #index = 0;
  #synced = false;
  #aclWarned = false;
  #lastError: OperatorError | undefined;
  #syncWaiters: (() => void)[] = [];
  readonly #loop: Promise<void>;

  constructor(options: ConsulMetricsHealthOptions) {
    this.#options = options;
    this.#loop = this.#run();
  }

  health(key: ResourceKey): ServiceHealth | undefined {
    return this.#health.get(key);
  }

  changes(): Observable<ResourceKey> {
    return this.#changes.asObservable();
  }

  /** True once one query has been applied. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Why the last query failed (ConsulUnavailable, Forbidden, ...); cleared by the next success. */
  get lastError(): OperatorError | undefined {
    return this.#lastError;
  }

  /** The X-Consul-Index the next query blocks on (0: answers at once). */
  get index(): number {
    return this.#index;
  }

  /** Resolves after the next successfully applied query. */
  nextSync(): Promise<void> {
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
    this.#changes.complete();
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    const { initial, max } = this.#options.backoffMs ?? { initial: 500, max: 30_000 };
    const minInterval = this.#options.minIntervalMs ?? 250;
    const filter = operatorChecksFilter(this.#options.tag ?? OPERATOR_SERVICE_TAG);
    let failures = 0;
    let lastStart = 0;
    while (!signal.aborted) {
      try {
        await pause(lastStart + minInterval - Date.now(), signal);
        lastStart = Date.now();
        const answer = await this.#options.client.checksInState("any", {
          filter,
          index: this.#index,
          waitMs: this.#options.waitMs ?? 300_000,
          signal,
        });
        if (answer.filteredByAcls && !this.#aclWarned) {
          this.#aclWarned = true;
          this.#options.logger?.warn(
            "Consul filtered the health answer by ACLs: the token needs service:read and node:read",
          );
        }
        await this.#resolveOwners(answer.value, signal);
        this.#apply(answer.value);
        if (answer.index < this.#index) {
          watchRestarts.inc({ watch: WATCH, cause: "IndexReset" });
          this.#options.logger?.info(
            { from: this.#index, to: answer.index },
            "Consul index went backwards: reset",
          );
          this.#index = 0;
        } else {
          this.#index = answer.index;
        }
        failures = 0;
        this.#lastError = undefined;
        this.#synced = true;
        for (const resolve of this.#syncWaiters.splice(0)) resolve();
      } catch (error) {
        if (signal.aborted) break;
        failures++;
        this.#lastError =
          error instanceof OperatorError
            ? error
            : new OperatorError("ConsulUnavailable", `Consul health query failed: ${String(error)}`, {
                cause: error,
              });
        const stalled = (error as { cause?: { name?: string } }).cause?.name === "TimeoutError";
        watchRestarts.inc({ watch: WATCH, cause: stalled ? "Stall" : reasonOf(this.#lastError) });
        const ms = backoffDelay(failures - 1, { initialMs: initial, maxMs: max, jitter: 0.2 });
        this.#options.logger?.warn(
          { reason: this.#lastError.reason, retryInMs: Math.round(ms) },
          `Consul health watch: ${this.#lastError.message}`,
        );
        await pause(ms, signal);
      }
    }
  }

  /** Finds the owner of every service instance not seen before (agent listing in bulk, then catalog). */
  async #resolveOwners(checks: readonly HealthCheck[], signal: AbortSignal): Promise<void> {
    const unknown = new Map<string, string>(); // ServiceID → ServiceName
    for (const c of checks)
      if (c.ServiceID && !this.#owners.has(c.ServiceID)) unknown.set(c.ServiceID, c.ServiceName);
    if (unknown.size === 0) return;
    if (unknown.size > BULK_LOOKUP) {
      // Start-up or a large burst: one listing of the local agent's operator services.
      const tag = this.#options.tag ?? OPERATOR_SERVICE_TAG;
      const local = await this.#options.client.agentServices(`${JSON.stringify(tag)} in Tags`, signal);
      for (const [id, service] of Object.entries(local)) {
        if (unknown.delete(id)) this.#owners.set(id, ownerFromMeta(service.Meta) ?? null);
      }
    }
    for (const name of new Set(unknown.values())) {
      for (const entry of await this.#options.client.catalogService(name, undefined, signal)) {
        if (unknown.delete(entry.ServiceID))
          this.#owners.set(entry.ServiceID, ownerFromMeta(entry.ServiceMeta) ?? null);
      }
    }
    // Still unknown: deregistered between the two reads; looked up again if it comes back.
  }

  #apply(checks: readonly HealthCheck[]): void {
    const next = aggregateHealth(checks, (id) => this.#owners.get(id) ?? undefined);
    const present = new Set(checks.map((c) => c.ServiceID));
    for (const id of this.#owners.keys()) if (!present.has(id)) this.#owners.delete(id);
    const changed = changedKeys(this.#health, next);
    this.#health = next;
    for (const key of changed) this.#changes.next(key);
  }
}

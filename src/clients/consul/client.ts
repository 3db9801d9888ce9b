// Thin typed Consul client on the shared HTTP client: one blocking health query for the operator's
// services, agent and catalog listings, the leader, and (for tests and tools; the operator itself
// never writes Consul services, Nomad does) register/deregister. Errors are typed: ConsulUnavailable
// (unreachable, no leader, 502-504), Forbidden (ACL), NotFound, ConsulRejected (400, e.g. a bad
// filter), ConsulError (other 5xx); Consul's plain-text bodies are kept, tokens never appear.
// Sessions and KV (with acquire, release and CAS) carry the leader-election lock.
import { OperatorError } from "../../api/errors.ts";
import { HttpClient, HttpError, type HttpResponse } from "../http.ts";
import { type ConsulOptions, consulConfig } from "./config.ts";
import type {
  AgentService,
  CatalogServiceEntry,
  HealthCheck,
  Indexed,
  KvPair,
  ServiceRegistration,
  SessionRequest,
} from "./types.ts";

export interface ConsulClientOptions extends ConsulOptions {
  /** Per-request timeout of ordinary requests (default 10 s). */
  timeoutMs?: number;
  /** Retries of reads on network errors and 5xx (default 2). */
  retries?: number;
  /** Extra time allowed past a blocking query's wait before it counts as stalled (default 5 s). */
  stallMarginMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface BlockingOptions {
  filter?: string;
  /** X-Consul-Index of the previous answer; 0 or absent answers at once. */
  index?: number;
  /** Longest wait for a change (Consul caps it at 10 min; default 5 min). */
  waitMs?: number;
  signal?: AbortSignal;
}

export type HealthState = "any" | "passing" | "warning" | "critical";

export class ConsulClient {
  readonly http: HttpClient;
  readonly #stallMarginMs: number;

  constructor(options: ConsulClientOptions = {}) {
    const config = consulConfig(options, options.env);
    this.#stallMarginMs = options.stallMarginMs ?? 5_000;
    this.http = new HttpClient({
      system: "consul",
      baseUrl: config.baseUrl,
      ...(config.token ? { authHeaders: { "X-Consul-Token": config.token } } : {}),
      ...(config.tls ? { tls: config.tls } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.retries !== undefined ? { retries: options.retries } : {}),
      unavailableReason: "ConsulUnavailable",
    });
  }

  get baseUrl(): string {
    return this.http.baseUrl;
  }

  /** GET /v1/health/state/:state, blocking when `index` is given: checks with X-Consul-Index. */
  async checksInState(state: HealthState, options: BlockingOptions = {}): Promise<Indexed<HealthCheck[]>> {
    const endpoint = "/v1/health/state/:state";
    const waitMs = Math.min(options.waitMs ?? 300_000, 600_000);
    const blocking = (options.index ?? 0) > 0;
    const response = await this.#send<HealthCheck[] | null>(`/v1/health/state/${encodeURIComponent(state)}`, {
      endpoint,
      query: {
        filter: options.filter,
        ...(blocking ? { index: options.index, wait: `${Math.max(1, Math.round(waitMs))}ms` } : {}),
      },
      // A blocked request is answered after wait plus up to wait/16 of jitter; past that it stalled.
      ...(blocking
        ? { timeoutMs: Math.ceil(waitMs + waitMs / 16 + this.#stallMarginMs), idempotent: false }
        : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return indexed(response, response.body ?? []);
  }

  /** GET /v1/agent/services: the local agent's services keyed by ID (name in `Service`). */
  async agentServices(filter?: string, signal?: AbortSignal): Promise<Record<string, AgentService>> {
    const response = await this.#send<Record<string, AgentService> | null>("/v1/agent/services", {
      endpoint: "/v1/agent/services",
      query: { filter },
      ...(signal ? { signal } : {}),
    });
    return response.body ?? {};
  }

  /** GET /v1/catalog/service/:name: every instance in the datacenter, with ServiceMeta. */
  async catalogService(name: string, filter?: string, signal?: AbortSignal): Promise<CatalogServiceEntry[]> {
    const response = await this.#send<CatalogServiceEntry[] | null>(
      `/v1/catalog/service/${encodeURIComponent(name)}`,
      {
        endpoint: "/v1/catalog/service/:service",
        query: { filter },
        ...(signal ? { signal } : {}),
      },
    );
    return response.body ?? [];
  }

  /** GET /v1/status/leader: the leader's address; ConsulUnavailable when the cluster has none. */
  async leader(signal?: AbortSignal): Promise<string> {
    const response = await this.#send<string>("/v1/status/leader", {
      endpoint: "/v1/status/leader",
      ...(signal ? { signal } : {}),
    });
    if (typeof response.body !== "string" || response.body === "") {
      throw new OperatorError("ConsulUnavailable", `Consul at ${this.baseUrl} has no cluster leader`);
    }
    return response.body;
  }

  /** PUT /v1/agent/service/register (tests and tools only). */
  async registerService(registration: ServiceRegistration): Promise<void> {
    await this.#send("/v1/agent/service/register", {
      method: "PUT",
      endpoint: "/v1/agent/service/register",
      body: registration,
    });
  }

  /** PUT /v1/agent/service/deregister/:id; false when Consul does not know the id (404). */
  async deregisterService(id: string): Promise<boolean> {
    const response = await this.#send(`/v1/agent/service/deregister/${encodeURIComponent(id)}`, {
      method: "PUT",
      endpoint: "/v1/agent/service/deregister/:id",
      accept: [404],
    });
    return response.status !== 404;
  }

  /** PUT /v1/session/create: the new session's ID. */
  async createSession(request: SessionRequest, signal?: AbortSignal): Promise<string> {
    const response = await this.#send<{ ID?: string }>("/v1/session/create", {
      method: "PUT",
      endpoint: "/v1/session/create",
      body: request,
      ...(signal ? { signal } : {}),
    });
    if (typeof response.body?.ID !== "string") {
      throw new OperatorError("ConsulError", `Consul at ${this.baseUrl} created a session without an ID`);
    }
    return response.body.ID;
  }

  /** PUT /v1/session/renew/:id; false when Consul no longer knows the session (expired or destroyed). */
  async renewSession(id: string, signal?: AbortSignal): Promise<boolean> {
    const response = await this.#send(`/v1/session/renew/${encodeURIComponent(id)}`, {
      method: "PUT",
      endpoint: "/v1/session/renew/:id",
      accept: [404],
      ...(signal ? { signal } : {}),
    });
    return response.status !== 404;
  }

  /** PUT /v1/session/destroy/:id: keys it holds are released (Behavior release) after its lock delay. */
  async destroySession(id: string, signal?: AbortSignal): Promise<void> {
    await this.#send(`/v1/session/destroy/${encodeURIComponent(id)}`, {
      method: "PUT",
      endpoint: "/v1/session/destroy/:id",
      ...(signal ? { signal } : {}),
    });
  }

  /** GET /v1/kv/:key; undefined when the key does not exist. */
  async kvGet(key: string, signal?: AbortSignal): Promise<KvPair | undefined> {
    const response = await this.#send<KvPair[] | null>(`/v1/kv/${encodePath(key)}`, {
      endpoint: "/v1/kv/:key",
      accept: [404],
      ...(signal ? { signal } : {}),
    });
    if (response.status === 404) return undefined;
    const pair = response.body?.[0];
    if (!pair) return undefined;
    return {
      ...pair,
      Value: pair.Value === null ? null : Buffer.from(pair.Value, "base64").toString("utf8"),
    };
  }

  /**
   * PUT /v1/kv/:key: `acquire` (lock with a session), `release` (unlock) or `cas` (write only if the
   * key's ModifyIndex is this; 0: only if the key does not exist). The value is stored as its JSON
   * text. False when Consul refused; ConsulValueTooLarge (413) when the value is over its limit.
   */
  async kvPut(
    key: string,
    value: unknown,
    options: { acquire?: string; release?: string; cas?: number; signal?: AbortSignal } = {},
  ): Promise<boolean> {
    const response = await this.#send<boolean>(`/v1/kv/${encodePath(key)}`, {
      method: "PUT",
      endpoint: "/v1/kv/:key",
      query: { acquire: options.acquire, release: options.release, cas: options.cas },
      body: value,
      accept: [413],
      ...(options.signal ? { signal: options.signal } : {}),
    });
    // agent/kv_endpoint.go: a body over kv_max_value_size (512 KiB by default) is refused with 413.
    if (response.status === 413)
      throw new HttpError(
        "ConsulValueTooLarge",
        `Consul at ${this.baseUrl} refused ${key}: ${response.text.trim()}`,
        413,
        response.text,
      );
    return response.body === true || response.text.trim() === "true";
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  async #send<T>(path: string, options: Parameters<HttpClient["request"]>[1]): Promise<HttpResponse<T>> {
    const response = await this.http.request<T>(path, options);
    if (response.status >= 500) throw this.#serverError(response, options.endpoint, options.method ?? "GET");
    return response;
  }

  #serverError(response: HttpResponse<unknown>, endpoint: string, method: string): HttpError {
    const error = this.http.errorFor(response, endpoint, method);
    const unavailable =
      [502, 503, 504].includes(response.status) ||
      /no cluster leader|no path to datacenter/i.test(response.text);
    return unavailable
      ? new HttpError(
          "ConsulUnavailable",
          `${error.message} (at ${this.baseUrl})`,
          response.status,
          response.text,
        )
      : error;
  }
}

/** A key keeps its slashes; each segment is escaped. */
function encodePath(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

function indexed<T>(response: HttpResponse<unknown>, value: T): Indexed<T> {
  const raw = Number(response.headers["x-consul-index"]);
  return {
    value,
    index: Number.isFinite(raw) && raw > 0 ? Math.floor(raw) : 0,
    filteredByAcls: response.headers["x-consul-results-filtered-by-acls"] === "true",
  };
}

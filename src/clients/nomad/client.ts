// Typed Nomad client on the shared HttpClient: jobs (register with check-and-set, plan, read,
// allocations, summary, evaluations, list with meta, deregister), every allocation (paged), blocking
// queries, the agent's version, and allocation logs. The event stream lives in events.ts.
import type { Dispatcher } from "undici";
import { HttpClient, type HttpResponse } from "../http.ts";
import { type Env, type NomadConfig, nomadConfig } from "./config.ts";
import { fromStatus, NomadReason, reasonForStatus, toNomadError } from "./errors.ts";
import { LogLineDecoder } from "./frames.ts";
import { listAll } from "./pages.ts";
import { openStream, streamDispatcher } from "./stream.ts";
import type {
  NomadAllocation,
  NomadDeregisterResponse,
  NomadEvaluation,
  NomadJob,
  NomadJobListStub,
  NomadJobSummary,
  NomadPlanResponse,
  NomadRegisterResponse,
  NomadVariable,
  QueryMeta,
} from "./types.ts";
import { parseVersion, type Version } from "./version.ts";

export interface QueryOptions {
  namespace?: string;
  /** Blocking query: answer once the index passes this value (or `waitMs` elapses). */
  index?: number;
  waitMs?: number;
  signal?: AbortSignal;
}

export interface QueryResult<T> {
  body: T;
  meta: QueryMeta;
}

export interface ListOptions {
  /** `*` (default) lists every namespace the token can read. */
  namespace?: string;
  /** Only the objects whose ID starts with it (then listed, and paged, in ID order). */
  prefix?: string;
  perPage?: number;
  signal?: AbortSignal;
}

/** With a go-bexpr filter, e.g. `Meta["mlops_owner_id"] == "abc"` (Nomad ≥ 1.3). */
export type ListJobsOptions = ListOptions & { filter?: string };

export interface RegisterOptions {
  /** Check-and-set: the JobModifyIndex the job must still have (0: the job must not exist). */
  enforceIndex?: number;
}

export interface LogsOptions {
  task: string;
  type?: "stdout" | "stderr";
  follow?: boolean;
  namespace?: string;
  signal?: AbortSignal;
}

export class NomadClient {
  readonly config: NomadConfig;
  readonly http: HttpClient;
  #streamDispatcher: Dispatcher | undefined;
  #version: Promise<Version | undefined> | undefined;

  /** Options win over the environment (NOMAD_ADDR, NOMAD_TOKEN, ...); pass `env: {}` to ignore it. */
  constructor(config: Partial<NomadConfig> = {}, env: Env = process.env) {
    this.config = nomadConfig(config, env);
    this.http = new HttpClient({
      system: "nomad",
      baseUrl: this.config.address,
      authHeaders: this.config.token ? { "X-Nomad-Token": this.config.token } : {},
      ...(this.config.tls ? { tls: this.config.tls } : {}),
      ...(this.config.timeoutMs !== undefined ? { timeoutMs: this.config.timeoutMs } : {}),
      ...(this.config.retries !== undefined ? { retries: this.config.retries } : {}),
      unavailableReason: NomadReason.Unavailable,
    });
    this.#streamDispatcher = streamDispatcher(this.config);
  }

  get address(): string {
    return this.config.address;
  }

  /** A GET (blocking when `index` is given) returning the body and the X-Nomad-* headers. */
  async query<T>(path: string, endpoint: string, options: QueryOptions & { params?: Params } = {}) {
    const waitMs = options.waitMs ?? 300_000;
    const blocking = options.index !== undefined;
    const response = await this.#call<T>(path, {
      endpoint,
      query: {
        ...this.#common(options.namespace),
        ...options.params,
        ...(blocking ? { index: options.index, wait: `${Math.ceil(waitMs / 1000)}s` } : {}),
      },
      // Nomad adds up to wait/16 of jitter to a blocking query.
      ...(blocking ? { timeoutMs: Math.ceil(waitMs + waitMs / 16 + 5_000) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { body: response.body, meta: queryMeta(response) } satisfies QueryResult<T>;
  }

  async register(job: NomadJob, options: RegisterOptions = {}): Promise<NomadRegisterResponse> {
    const cas = options.enforceIndex !== undefined;
    const response = await this.#call<NomadRegisterResponse>("/v1/jobs", {
      method: "POST",
      endpoint: "/v1/jobs",
      query: this.#common(job.Namespace),
      body: { Job: job, ...(cas ? { EnforceIndex: true, JobModifyIndex: options.enforceIndex } : {}) },
    });
    return response.body;
  }

  async plan(job: NomadJob): Promise<NomadPlanResponse> {
    const response = await this.#call<NomadPlanResponse>(`/v1/job/${enc(job.ID)}/plan`, {
      method: "POST",
      endpoint: "/v1/job/:id/plan",
      query: this.#common(job.Namespace),
      body: { Job: job, Diff: true },
      idempotent: true,
    });
    return response.body;
  }

  /** The job, or undefined when Nomad answers 404 (never existed, purged, or garbage-collected). */
  async readJob(id: string, namespace: string, signal?: AbortSignal): Promise<NomadJob | undefined> {
    return this.#find<NomadJob>(`/v1/job/${enc(id)}`, "/v1/job/:id", namespace, signal);
  }

  /**
   * Allocations of the job's current instance (all versions). Without `all`: a purged and re-registered
   * job's old allocations (same ID, earlier instance) are not mixed in.
   */
  async jobAllocations(id: string, namespace: string, signal?: AbortSignal): Promise<NomadAllocation[]> {
    const path = `/v1/job/${enc(id)}/allocations`;
    return (
      (await this.#find<NomadAllocation[] | null>(path, "/v1/job/:id/allocations", namespace, signal)) ?? []
    );
  }

  async jobSummary(id: string, namespace: string): Promise<NomadJobSummary | undefined> {
    return this.#find<NomadJobSummary>(`/v1/job/${enc(id)}/summary`, "/v1/job/:id/summary", namespace);
  }

  async jobEvaluations(id: string, namespace: string): Promise<NomadEvaluation[]> {
    const path = `/v1/job/${enc(id)}/evaluations`;
    return (await this.#find<NomadEvaluation[] | null>(path, "/v1/job/:id/evaluations", namespace)) ?? [];
  }

  /** Every job stub (with Meta), following X-Nomad-NextToken pages. */
  async listJobs(options: ListJobsOptions = {}): Promise<NomadJobListStub[]> {
    return (await this.listJobsAt(options)).jobs;
  }

  /**
   * listJobs, with the X-Nomad-Index of the first page (to resume an event stream without a gap).
   * Nomad walks jobs by namespace, then ID, and compares page tokens "<namespace>.<id>" as strings:
   * with a namespace that begins another ("team", "team-a") its pages start over.
   */
  async listJobsAt(options: ListJobsOptions = {}): Promise<{ jobs: NomadJobListStub[]; index: number }> {
    const { prefix, filter } = options;
    const params = { meta: true, ...(prefix ? { prefix } : {}), ...(filter ? { filter } : {}) };
    const key = (job: NomadJobListStub) => `${job.Namespace}/${job.ID}`;
    const { items, index } = await this.#list<NomadJobListStub>("/v1/jobs", options, params, key);
    return { jobs: items, index };
  }

  /**
   * Every allocation (stubs with TaskStates), as listJobsAt pages. Nomad < 1.10.2 compares page tokens
   * as strings while it walks allocations in CreateIndex order (hashicorp/nomad#25435): past an index
   * with more digits its pages start over.
   */
  async listAllocationsAt(
    options: ListOptions = {},
  ): Promise<{ allocations: NomadAllocation[]; index: number }> {
    const params = { task_states: true, ...(options.prefix ? { prefix: options.prefix } : {}) };
    const listed = await this.#list<NomadAllocation>("/v1/allocations", options, params, (a) => a.ID);
    return { allocations: listed.items, index: listed.index };
  }

  /**
   * Stops (purge=false: kept as dead) or removes the job. Nomad answers 200 for a job it does not know,
   * with an empty EvalID and JobModifyIndex 0 (nomad/job_endpoint.go Deregister): `known` says which.
   */
  async deregister(
    id: string,
    namespace: string,
    options: { purge: boolean },
  ): Promise<NomadDeregisterResponse & { known: boolean }> {
    const response = await this.#call<NomadDeregisterResponse>(`/v1/job/${enc(id)}`, {
      method: "DELETE",
      endpoint: "/v1/job/:id",
      query: { ...this.#common(namespace), purge: options.purge },
      idempotent: true,
    });
    const body = response.body ?? ({} as Partial<NomadDeregisterResponse>);
    return {
      EvalID: body.EvalID ?? "",
      EvalCreateIndex: body.EvalCreateIndex ?? 0,
      JobModifyIndex: body.JobModifyIndex ?? 0,
      Index: body.Index ?? 0,
      known: (body.JobModifyIndex ?? 0) > 0 || Boolean(body.EvalID),
    };
  }

  /** The Variable at `path`, or undefined when Nomad answers 404 ("variable not found"). */
  async readVariable(path: string, namespace: string): Promise<NomadVariable | undefined> {
    return this.#find<NomadVariable>(`/v1/var/${varPath(path)}`, "/v1/var/:path", namespace);
  }

  /**
   * Writes the Variable's items (PUT /v1/var/:path, command/agent/variable_endpoint.go). With `cas`
   * the write happens only if the Variable's ModifyIndex still is `cas` (0: it must not exist);
   * otherwise Nomad answers 409 with the current Variable, returned here as `conflict`.
   */
  async putVariable(
    path: string,
    namespace: string,
    items: Record<string, string>,
    options: { cas?: number } = {},
  ): Promise<{ variable?: NomadVariable; conflict?: NomadVariable }> {
    const response = await this.#call<NomadVariable>(`/v1/var/${varPath(path)}`, {
      method: "PUT",
      endpoint: "/v1/var/:path",
      query: { ...this.#common(namespace), ...(options.cas !== undefined ? { cas: options.cas } : {}) },
      body: { Namespace: namespace, Path: path, Items: items },
      idempotent: true,
      accept: CONFLICT,
    });
    return response.status === 409 ? { conflict: response.body } : { variable: response.body };
  }

  /** Removes the Variable; deleting one that does not exist succeeds, as Nomad answers 204 for it. */
  async deleteVariable(path: string, namespace: string): Promise<void> {
    await this.#call<unknown>(`/v1/var/${varPath(path)}`, {
      method: "DELETE",
      endpoint: "/v1/var/:path",
      query: this.#common(namespace),
      idempotent: true,
    });
  }

  /** The server's version from /v1/agent/self (cached); undefined when the token may not read it. */
  serverVersion(): Promise<Version | undefined> {
    this.#version ??= this.#call<AgentSelf>("/v1/agent/self", { endpoint: "/v1/agent/self" }).then(
      (r) => parseVersion(r.body?.config?.Version?.Version ?? r.body?.member?.Tags?.build),
      (error: unknown) => {
        this.#version = undefined;
        if (toNomadError(error).reason === NomadReason.Forbidden) return undefined;
        throw error;
      },
    );
    return this.#version;
  }

  /** An allocation's task output, line by line (frames decoded); follows while `follow` is set. */
  async *logs(allocId: string, options: LogsOptions): AsyncGenerator<string> {
    const controller = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
    const query = new URLSearchParams({
      ...stringify(this.#common(options.namespace)),
      task: options.task,
      type: options.type ?? "stdout",
      follow: String(options.follow ?? false),
      origin: "start",
      offset: "0",
    });
    const stream = await openStream(
      this.config,
      this.#streamDispatcher,
      `/v1/client/fs/logs/${enc(allocId)}`,
      query,
      "/v1/client/fs/logs/:alloc",
      signal,
    );
    const decoder = new LogLineDecoder();
    try {
      for await (const chunk of stream.body) {
        yield* decoder.push(chunk as Uint8Array);
      }
      yield* decoder.flush();
    } finally {
      controller.abort();
    }
  }

  streamConfig(): { config: NomadConfig; dispatcher: Dispatcher | undefined } {
    return { config: this.config, dispatcher: this.#streamDispatcher };
  }

  async close(): Promise<void> {
    await this.http.close();
    await this.#streamDispatcher?.close();
  }

  #common(namespace: string | undefined): Params {
    const ns = namespace ?? this.config.namespace;
    return {
      ...(this.config.region ? { region: this.config.region } : {}),
      ...(ns ? { namespace: ns } : {}),
    };
  }

  /** Every page of a list (namespace default `*`); pages that start over: once more, unpaged (pages.ts). */
  #list<T>(path: string, options: ListOptions, params: Params, key: (item: T) => string) {
    const fetchPage = (nextToken: string | undefined, paged: boolean) =>
      this.query<T[] | null>(path, path, {
        namespace: options.namespace ?? "*",
        params: {
          ...params,
          ...(paged && options.perPage ? { per_page: options.perPage } : {}),
          ...(nextToken ? { next_token: nextToken } : {}),
        },
        ...opt(options.signal),
      });
    return listAll(path, fetchPage, key);
  }

  async #call<T>(path: string, options: Parameters<HttpClient["request"]>[1]): Promise<HttpResponse<T>> {
    let response: HttpResponse<T>;
    try {
      response = await this.http.request<T>(path, options);
    } catch (error) {
      throw toNomadError(error);
    }
    if (response.status >= 500) {
      const method = options.method ?? "GET";
      throw fromStatus(
        response.status,
        response.text,
        this.http.errorFor(response, options.endpoint, method).message,
      );
    }
    return response;
  }

  /** GET of one object: its body, or undefined when Nomad answers 404 for it. */
  async #find<T>(path: string, endpoint: string, namespace: string, signal?: AbortSignal) {
    const response = await this.#call<T>(path, {
      endpoint,
      query: this.#common(namespace),
      accept: NOT_FOUND,
      ...opt(signal),
    });
    return this.#unlessNotFound(response, endpoint, "GET");
  }

  /**
   * The body, or undefined for a 404 about the object itself: an expected answer (a new job's first
   * read), accepted rather than thrown and caught. A 404 that says something else (an unknown
   * namespace) still throws its typed error.
   */
  #unlessNotFound<T>(response: HttpResponse<T>, endpoint: string, method: string): T | undefined {
    if (response.status !== 404) return response.body;
    if (reasonForStatus(404, response.text) === NomadReason.NotFound) return undefined;
    throw fromStatus(404, response.text, this.http.errorFor(response, endpoint, method).message);
  }
}

const NOT_FOUND: readonly number[] = [404];
const CONFLICT: readonly number[] = [409];

/** A Variable path keeps its slashes in the URL; each segment is encoded. */
function varPath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

type Params = Record<string, string | number | boolean | undefined>;

interface AgentSelf {
  config?: { Version?: { Version?: string } };
  member?: { Tags?: { build?: string } };
}

function queryMeta(response: HttpResponse<unknown>): QueryMeta {
  const next = response.headers["x-nomad-nexttoken"];
  return {
    index: Number(response.headers["x-nomad-index"] ?? 0),
    knownLeader: response.headers["x-nomad-knownleader"] === "true",
    lastContactMs: Number(response.headers["x-nomad-lastcontact"] ?? 0),
    ...(next ? { nextToken: next } : {}),
  };
}

function enc(id: string): string {
  return encodeURIComponent(id);
}

function opt(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}

function stringify(params: Params): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined) out[k] = String(v);
  return out;
}

// The one HTTP client under the Nomad, Consul and Grafana clients: JSON in and out, a token sent as
// a header (never logged, never in an error), TLS from files, bounded timeouts and retries, typed
// errors whose message keeps the server's plain-text body, and request metrics per endpoint.
import type { Dispatcher } from "undici";
import { backoffDelay, pause } from "../api/backoff.ts";
import { OperatorError } from "../api/errors.ts";
import { ownBytes } from "../api/own-bytes.ts";
import { externalRequestDuration, externalRequests } from "../observability/metrics.ts";
import { type TlsOptions, tlsDispatcher, tlsFailure } from "./tls.ts";
import { request } from "./undici.ts";

/** `trainer`: a training run's own metrics endpoint, scraped directly. */
export type System = "nomad" | "consul" | "grafana" | "prometheus" | "trainer";

export type { TlsOptions } from "./tls.ts";

export interface HttpClientOptions {
  system: System;
  /** Base URL, e.g. http://127.0.0.1:4646 */
  baseUrl: string;
  /** Headers that carry credentials (X-Nomad-Token, Authorization, ...). */
  authHeaders?: Record<string, string>;
  tls?: TlsOptions;
  /** Per-request timeout for ordinary requests (blocking queries pass their own). */
  timeoutMs?: number;
  /**
   * The timeout bounds the whole exchange, not only the wait for headers and for each body chunk:
   * for endpoints not trusted to answer at a steady pace (a run's own metrics, which could trickle a
   * byte at a time). Costs a timer and a signal per request.
   */
  deadline?: boolean;
  /** A response body longer than this is not read: the request fails (unset: no limit). */
  maxBodyBytes?: number;
  /** Retries of idempotent requests on network errors and 5xx (bounded). */
  retries?: number;
  /** Reason used when the server cannot be reached: NomadUnavailable, ConsulUnavailable, ... */
  unavailableReason: string;
}

export interface RequestOptions {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Label for metrics: a path template such as /v1/job/:id (never an ID). */
  endpoint: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Statuses returned to the caller instead of thrown (e.g. 404). */
  accept?: readonly number[];
  /** Retry on network errors and 5xx; defaults to true for GET. */
  idempotent?: boolean;
}

export interface HttpResponse<T> {
  status: number;
  headers: Record<string, string>;
  body: T;
  text: string;
}

export class HttpError extends OperatorError {
  readonly status: number;
  readonly body: string;
  constructor(reason: string, message: string, status: number, body: string, cause?: unknown) {
    super(reason, message, { cause });
    this.name = "HttpError";
    this.status = status;
    this.body = body;
  }
}

interface Series {
  readonly duration: ReturnType<typeof externalRequestDuration.labels>;
  count(code: number | string): ReturnType<typeof externalRequests.labels>;
}

const capitalized: Record<System, string> = {
  nomad: "Nomad",
  consul: "Consul",
  grafana: "Grafana",
  prometheus: "Prometheus",
  trainer: "The metrics endpoint",
};

export class HttpClient {
  readonly system: System;
  readonly baseUrl: string;
  readonly #auth: Record<string, string>;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #deadline: boolean;
  readonly #maxBodyBytes: number | undefined;
  readonly #unavailable: string;
  readonly #metrics = new Map<string, Series>();

  constructor(options: HttpClientOptions) {
    this.system = options.system;
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#auth = options.authHeaders ?? {};
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#retries = options.retries ?? 2;
    this.#deadline = options.deadline === true;
    this.#maxBodyBytes = options.maxBodyBytes;
    this.#unavailable = options.unavailableReason;
    this.#dispatcher = tlsDispatcher(options.tls);
  }

  async request<T>(path: string, options: RequestOptions): Promise<HttpResponse<T>> {
    const method = options.method ?? "GET";
    const idempotent = options.idempotent ?? method === "GET";
    const attempts = idempotent ? this.#retries + 1 : 1;
    let lastError: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) {
        await pause(backoffDelay(attempt, { initialMs: 100, maxMs: 2_000 }), options.signal);
        options.signal?.throwIfAborted();
      }
      try {
        const response = await this.#once<T>(path, method, options);
        if (response.status >= 500 && idempotent && attempt + 1 < attempts) {
          lastError = this.#httpError(response.status, response.text, options.endpoint, method);
          continue;
        }
        return response;
      } catch (error) {
        if (error instanceof HttpError || options.signal?.aborted) throw error;
        const tls =
          this.system === "prometheus" || this.system === "trainer"
            ? undefined
            : tlsFailure(error, this.system, this.baseUrl);
        if (tls) throw new OperatorError(this.#unavailable, tls, { cause: error });
        lastError = error;
      }
    }
    if (lastError instanceof HttpError) throw lastError;
    throw new OperatorError(
      this.#unavailable,
      `${capitalized[this.system]} at ${this.baseUrl} is unreachable (${method} ${options.endpoint}): ${describe(lastError)}`,
      { cause: lastError },
    );
  }

  async #once<T>(path: string, method: string, options: RequestOptions): Promise<HttpResponse<T>> {
    let url = this.baseUrl + path;
    if (options.query) {
      const params = new URLSearchParams();
      for (const key in options.query) {
        const value = options.query[key];
        if (value !== undefined) params.set(key, String(value));
      }
      const search = params.toString();
      if (search) url += (url.includes("?") ? "&" : "?") + search;
    }
    const headers: Record<string, string> = { accept: "application/json", ...this.#auth, ...options.headers };
    // Bytes, not the JSON string: undici copies a string body into a Buffer anyway, and the string
    // would live in the old generation as long as its request waits (promoted, then garbage). Bytes
    // of their own: a slice of Node's pool held its 64 KB slab while the request waited.
    let body: Buffer | undefined;
    if (options.body !== undefined) {
      body = ownBytes(JSON.stringify(options.body));
      headers["content-type"] = "application/json";
    }
    // The timeout is undici's own (its timers run for every request anyway): until the response's
    // headers, then between body chunks. A timer and an AbortSignal per request besides, and undici's
    // listener on that signal, were ~2% of the operator's main thread registering 10,000 jobs.
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    let signal = options.signal;
    let deadline: NodeJS.Timeout | undefined;
    if (this.#deadline) {
      const expired = new AbortController();
      deadline = setTimeout(() => expired.abort(timedOut()), timeoutMs);
      signal = signal ? AbortSignal.any([signal, expired.signal]) : expired.signal;
    }
    const started = performance.now();
    const series = this.#series(options.endpoint);
    try {
      const response = await request(url, {
        method: method as Dispatcher.HttpMethod,
        headers,
        body: body ?? null,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        ...(signal ? { signal } : {}),
        ...(this.#dispatcher ? { dispatcher: this.#dispatcher } : {}),
      });
      const text =
        this.#maxBodyBytes === undefined
          ? await response.body.text()
          : await boundedText(response.body, this.#maxBodyBytes);
      if (text === undefined) {
        series.count("error").inc();
        const message = `${capitalized[this.system]} at ${this.baseUrl} answered more than ${this.#maxBodyBytes} bytes (${method} ${options.endpoint}): not read`;
        throw new HttpError(this.#unavailable, message, response.statusCode, "");
      }
      series.count(response.statusCode).inc();
      const flat: Record<string, string> = {};
      for (const key in response.headers) {
        const value = response.headers[key];
        if (value !== undefined) flat[key.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
      }
      const ok = response.statusCode < 300 || (options.accept?.includes(response.statusCode) ?? false);
      if (!ok && !(response.statusCode >= 500)) {
        throw this.#httpError(response.statusCode, text, options.endpoint, method);
      }
      return { status: response.statusCode, headers: flat, body: parseBody(text) as T, text };
    } catch (error) {
      if (!(error instanceof HttpError)) series.count("error").inc();
      if (isTimeout(error)) throw timedOut();
      throw error;
    } finally {
      if (deadline) clearTimeout(deadline);
      series.duration.observe((performance.now() - started) / 1000);
    }
  }

  /** The metric series of an endpoint, looked up once (label hashing per request is not free). */
  #series(endpoint: string): Series {
    let series = this.#metrics.get(endpoint);
    if (!series) {
      const codes = new Map<number | string, ReturnType<typeof externalRequests.labels>>();
      const labels = { system: this.system, endpoint };
      series = {
        duration: externalRequestDuration.labels(labels),
        count: (code) => {
          let counter = codes.get(code);
          if (!counter) {
            counter = externalRequests.labels({ ...labels, code: String(code) });
            codes.set(code, counter);
          }
          return counter;
        },
      };
      this.#metrics.set(endpoint, series);
    }
    return series;
  }

  /** Throws the typed error for a non-success status (used by callers for 5xx they do not accept). */
  #httpError(status: number, text: string, endpoint: string, method: string): HttpError {
    const name = capitalized[this.system];
    const reason =
      status === 401 || status === 403
        ? "Forbidden"
        : status === 404
          ? "NotFound"
          : status === 409
            ? `${name}Conflict`
            : status >= 500
              ? `${name}Error`
              : `${name}Rejected`;
    const detail = serverMessage(text);
    return new HttpError(
      reason,
      `${name} ${method} ${endpoint}: ${status}${detail ? `: ${detail}` : ""}`,
      status,
      text,
    );
  }

  /** For callers: turn a returned 5xx into its typed error. */
  errorFor(response: HttpResponse<unknown>, endpoint: string, method = "GET"): HttpError {
    return this.#httpError(response.status, response.text, endpoint, method);
  }

  async close(): Promise<void> {
    await this.#dispatcher?.close();
  }
}

function parseBody(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Nomad and Consul answer plain text, Grafana `{"message": ...}`; keep it short. */
function serverMessage(text: string): string {
  let message = text.trim();
  try {
    const parsed = JSON.parse(message) as { message?: unknown };
    if (typeof parsed.message === "string") message = parsed.message;
  } catch {
    // plain text
  }
  return message.length > 500 ? `${message.slice(0, 500)}…` : message;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    const code = (cause as { code?: string } | undefined)?.code ?? (error as { code?: string }).code;
    return code ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}

/** A request's timeout, as an AbortSignal's reads (callers tell a stall by the name). */
const timedOut = (): DOMException => new DOMException("request timed out", "TimeoutError");

/** undici's headers or body timeout. */
function isTimeout(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT";
}

/** The body as text; undefined once it passes `limit` bytes (the rest is not read). */
async function boundedText(
  body: AsyncIterable<Uint8Array> & { destroy(): unknown },
  limit: number,
): Promise<string | undefined> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

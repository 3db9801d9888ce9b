// Thin typed Grafana client on the shared HTTP client: annotations (create, patch, find by tags) and
// health. Errors are typed: GrafanaUnavailable (unreachable, 502-504, database failing), Forbidden
// (401/403), NotFound, GrafanaRejected (400), GrafanaError (other 5xx); Grafana's {"message"} is kept
// and credentials never appear. Creating is never retried blindly (it could duplicate); patching is.
import { HttpClient, HttpError, type HttpResponse, type RequestOptions } from "../http.ts";
import { type GrafanaOptions, grafanaConfig } from "./config.ts";

export interface GrafanaClientOptions extends GrafanaOptions {
  timeoutMs?: number;
  retries?: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * An item of GET /api/annotations (Grafana's ItemDTO; only what the operator reads). Grafana 11.5
 * sends every field (no `omitempty`: `alertId: 0`, `tags: []`, an organisation annotation's
 * `dashboardUID: null`, pkg/services/annotations/models.go); later versions omit zero values. Both
 * read the same here: absent, null and empty mean "none".
 */
export interface GrafanaAnnotation {
  id: number;
  time?: number;
  timeEnd?: number;
  text?: string;
  tags?: string[] | null;
  dashboardUID?: string | null;
  panelId?: number;
}

export interface NewAnnotation {
  /** Epoch milliseconds. */
  time: number;
  timeEnd?: number;
  tags: readonly string[];
  text: string;
  /** Absent: an organisation-wide annotation. */
  dashboardUID?: string;
  panelId?: number;
}

export interface AnnotationPatch {
  time?: number;
  timeEnd?: number;
  tags?: readonly string[];
  text?: string;
}

export interface AnnotationQuery {
  tags: readonly string[];
  /** false (default): annotations carrying all the tags. */
  matchAny?: boolean;
  limit?: number;
  from?: number;
  to?: number;
}

export interface GrafanaHealth {
  database: string;
  version: string;
  commit: string;
}

export class GrafanaClient {
  readonly http: HttpClient;
  /** /api/health needs no credentials: a client without them, so they are never sent needlessly. */
  readonly #anonymous: HttpClient;

  constructor(options: GrafanaClientOptions = {}) {
    const config = grafanaConfig(options, options.env);
    const common = {
      system: "grafana" as const,
      baseUrl: config.baseUrl,
      ...(config.tls ? { tls: config.tls } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.retries !== undefined ? { retries: options.retries } : {}),
      unavailableReason: "GrafanaUnavailable",
    };
    this.http = new HttpClient({
      ...common,
      ...(config.authorization ? { authHeaders: { Authorization: config.authorization } } : {}),
    });
    this.#anonymous = new HttpClient(common);
  }

  get baseUrl(): string {
    return this.http.baseUrl;
  }

  /** POST /api/annotations → the new annotation's id. */
  async createAnnotation(annotation: NewAnnotation): Promise<number> {
    const response = await this.#send<{ id?: unknown }>(this.http, "/api/annotations", {
      method: "POST",
      endpoint: "/api/annotations",
      body: { ...annotation, tags: [...annotation.tags] },
    });
    const id = response.body?.id;
    if (typeof id !== "number" || !Number.isInteger(id)) {
      throw new HttpError(
        "GrafanaError",
        "Grafana POST /api/annotations: answer without an id",
        200,
        response.text,
      );
    }
    return id;
  }

  /** PATCH /api/annotations/:id with only the given fields. NotFound when the id is unknown. */
  async patchAnnotation(id: number, patch: AnnotationPatch): Promise<void> {
    await this.#send(this.http, `/api/annotations/${id}`, {
      method: "PATCH",
      endpoint: "/api/annotations/:id",
      body: { ...patch, ...(patch.tags ? { tags: [...patch.tags] } : {}) },
      idempotent: true,
    });
  }

  /** GET /api/annotations?tags=…&matchAny=false&type=annotation&limit=: newest first. */
  async findAnnotations(query: AnnotationQuery): Promise<GrafanaAnnotation[]> {
    const params = new URLSearchParams();
    for (const tag of query.tags) params.append("tags", tag);
    params.set("matchAny", String(query.matchAny ?? false));
    params.set("type", "annotation");
    params.set("limit", String(query.limit ?? 100));
    if (query.from !== undefined) params.set("from", String(query.from));
    if (query.to !== undefined) params.set("to", String(query.to));
    const response = await this.#send<GrafanaAnnotation[] | null>(this.http, `/api/annotations?${params}`, {
      endpoint: "/api/annotations",
    });
    return response.body ?? [];
  }

  /** GET /api/health (no credentials); GrafanaUnavailable when the database is failing (503). */
  async health(): Promise<GrafanaHealth> {
    const response = await this.#send<GrafanaHealth>(this.#anonymous, "/api/health", {
      endpoint: "/api/health",
      accept: [503],
    });
    if (response.status === 503 || response.body?.database !== "ok") {
      throw new HttpError(
        "GrafanaUnavailable",
        `Grafana at ${this.baseUrl}: database ${response.body?.database ?? "unknown"}`,
        response.status,
        response.text,
      );
    }
    return response.body;
  }

  async close(): Promise<void> {
    await Promise.all([this.http.close(), this.#anonymous.close()]);
  }

  async #send<T>(http: HttpClient, path: string, options: RequestOptions): Promise<HttpResponse<T>> {
    const response = await http.request<T>(path, options);
    if (response.status >= 500 && !(options.accept ?? []).includes(response.status)) {
      const error = http.errorFor(response, options.endpoint, options.method ?? "GET");
      if ([502, 503, 504].includes(response.status)) {
        throw new HttpError(
          "GrafanaUnavailable",
          `${error.message} (at ${this.baseUrl})`,
          response.status,
          response.text,
        );
      }
      throw error;
    }
    return response;
  }
}

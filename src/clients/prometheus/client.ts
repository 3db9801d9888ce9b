// A thin client of Prometheus's HTTP query API (GET /api/v1/query): instant vectors only, which is
// all the operator reads (a run's progress from the stack's Prometheus).
import { OperatorError } from "../../api/errors.ts";
import { HttpClient } from "../http.ts";

/** One series of an instant vector: its labels (with __name__ unless aggregated away) and value. */
export interface Sample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
  /** Epoch milliseconds of the sample. */
  readonly timestamp: number;
}

interface QueryResponse {
  status?: string;
  error?: string;
  errorType?: string;
  data?: { resultType?: string; result?: { metric?: Record<string, string>; value?: [number, string] }[] };
}

export class PrometheusClient {
  readonly #http: HttpClient;

  constructor(baseUrl: string, options: { timeoutMs?: number } = {}) {
    this.#http = new HttpClient({
      system: "prometheus",
      baseUrl,
      timeoutMs: options.timeoutMs ?? 5_000,
      retries: 1,
      unavailableReason: "PrometheusUnavailable",
    });
  }

  get baseUrl(): string {
    return this.#http.baseUrl;
  }

  /** Evaluates `expr` now; an expression that is not an instant vector is a PrometheusQueryError. */
  async query(expr: string): Promise<Sample[]> {
    const response = await this.#http.request<QueryResponse>("/api/v1/query", {
      endpoint: "/api/v1/query",
      query: { query: expr },
      accept: [400, 422],
    });
    const body = response.body;
    if (typeof body !== "object" || body === null || body.status !== "success") {
      const why =
        typeof body === "object" && body ? `${body.errorType ?? ""}: ${body.error ?? ""}` : response.text;
      throw new OperatorError(
        "PrometheusQueryError",
        `Prometheus at ${this.baseUrl} rejected ${expr} (HTTP ${response.status}) ${why}`,
      );
    }
    if (body.data?.resultType !== "vector") {
      throw new OperatorError(
        "PrometheusQueryError",
        `Prometheus at ${this.baseUrl} answered ${expr} with a ${body.data?.resultType ?? "missing"} result, not a vector`,
      );
    }
    return (body.data.result ?? []).map((r) => ({
      metric: r.metric ?? {},
      value: Number(r.value?.[1]),
      timestamp: Math.round(Number(r.value?.[0]) * 1000),
    }));
  }
}

/** A label value inside a PromQL string literal (double-quoted; backslash and quote escaped). */
export function promString(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

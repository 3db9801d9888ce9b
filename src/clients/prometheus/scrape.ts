// One direct scrape of a metrics endpoint (a training run's), for when no Prometheus scrapes it.
import { HttpClient } from "../http.ts";
import type { Sample } from "./client.ts";
import { parseExposition } from "./exposition.ts";

/** GETs http://<address><path> and returns the samples named in `names`. */
export async function scrapeMetrics(
  address: string,
  path: string,
  names: ReadonlySet<string>,
  options: { timeoutMs?: number } = {},
): Promise<Sample[]> {
  const http = new HttpClient({
    system: "trainer",
    baseUrl: `http://${address}`,
    timeoutMs: options.timeoutMs ?? 3_000,
    retries: 0,
    unavailableReason: "MetricsUnavailable",
  });
  const response = await http.request<unknown>(path, {
    endpoint: "scrape",
    headers: { accept: "text/plain;version=0.0.4" },
  });
  return parseExposition(response.text, `${address}${path}`, names);
}

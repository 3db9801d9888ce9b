// One direct scrape of a metrics endpoint (a training run's), for when no Prometheus scrapes it.
import { HttpClient } from "../http.ts";
import type { Sample } from "./client.ts";
import { parseExposition } from "./exposition.ts";

/** The most a run's metrics page may hold (Prometheus itself has no default limit). */
export const MAX_SCRAPE_BYTES = 8 * 1024 * 1024;

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
    // A run's own endpoint: the whole scrape within the timeout, however it trickles.
    deadline: true,
    // A metrics page is kilobytes; a runaway one is not held in memory.
    maxBodyBytes: MAX_SCRAPE_BYTES,
    retries: 0,
    unavailableReason: "MetricsUnavailable",
  });
  const response = await http.request<unknown>(path, {
    endpoint: "scrape",
    headers: { accept: "text/plain;version=0.0.4" },
  });
  return parseExposition(response.text, `${address}${path}`, names);
}

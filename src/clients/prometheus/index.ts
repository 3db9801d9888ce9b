export type { Sample } from "./client.ts";
export { PrometheusClient, promString } from "./client.ts";
export { ExpositionError, parseExposition } from "./exposition.ts";
export { scrapeMetrics } from "./scrape.ts";

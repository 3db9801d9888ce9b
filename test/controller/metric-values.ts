// Reads one series from the operator's registry, as a scrape would see it.
import { registry } from "../../src/observability/metrics.ts";

/**
 * Value of the series `name` whose labels include `labels` (histograms: ask for `name_count` or
 * `name_sum`); undefined when no such series exists.
 */
export async function metricValue(name: string, labels: Record<string, string>): Promise<number | undefined> {
  const histogramPart = /_(count|sum|bucket)$/.exec(name);
  const family = histogramPart && !registry.getSingleMetric(name) ? name.slice(0, histogramPart.index) : name;
  const metric = registry.getSingleMetric(family);
  if (metric === undefined) return undefined;
  const values = (await metric.get()).values as { value: number; labels: object; metricName?: string }[];
  const match = values.find(
    (v) =>
      (v.metricName ?? family) === name &&
      Object.entries(labels).every(
        ([key, want]) => String((v.labels as Record<string, unknown>)[key]) === want,
      ),
  );
  return match?.value;
}

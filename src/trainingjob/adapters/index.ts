// Adapters: Consul and Grafana clients turned into the TrainingJob kind's ports (MetricsHealth,
// RunAnnotator). The clients speak their systems' APIs only; what a TrainingJob needs of them is here.
export {
  aggregateHealth,
  changedKeys,
  META_NAME,
  META_NAMESPACE,
  OPERATOR_SERVICE_TAG,
  operatorChecksFilter,
  ownerFromMeta,
  worse,
} from "./consul-checks.ts";
export type { ConsulMetricsHealthOptions } from "./consul-metrics-health.ts";
export { ConsulMetricsHealth } from "./consul-metrics-health.ts";
export type { Finished } from "./grafana-annotator.ts";
export {
  ANNOTATION_TAG,
  finishedTags,
  finishedText,
  GrafanaRunAnnotator,
  runTags,
} from "./grafana-annotator.ts";
export {
  EPOCH_METRIC,
  PROGRESS_METRIC,
  PrometheusProgressReader,
  progressOf,
  RateLimitedProgressReader,
  ScrapeProgressReader,
} from "./progress-readers.ts";

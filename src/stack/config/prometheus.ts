// prometheus.yml and the stack's rule file. Training jobs are found through Consul service discovery
// (services tagged SCRAPE_TAG, registered by Nomad with container addresses) or through the
// operator's HTTP service discovery; the operator itself is scraped at the network's gateway (it runs
// on the host, or publishes its port there), and each component at its fixed IP.
import { stringify } from "yaml";
import type { StackComponent } from "../../api/names.ts";

/** Consul tag on every service the operator wants scraped (set by the TrainingJob's Nomad service). */
export const SCRAPE_TAG = "mlops-operator";
/** Service meta key carrying the metrics path. */
export const METRICS_PATH_META = "metrics_path";
export const SD_PATH = "/sd/prometheus";
export const PROMETHEUS_CONFIG_PATH = "/etc/prometheus/prometheus.yml";
export const PROMETHEUS_RULES_DIR = "/etc/prometheus/rules";
export const TRAININGJOBS_JOB = "mlops-trainingjobs";
export const OPERATOR_JOB = "mlops-operator";

/** Where each component serves Prometheus metrics. */
export const METRICS_ENDPOINTS: Record<StackComponent, { path: string; params?: Record<string, string[]> }> =
  {
    consul: { path: "/v1/agent/metrics", params: { format: ["prometheus"] } },
    nomad: { path: "/v1/metrics", params: { format: ["prometheus"] } },
    prometheus: { path: "/metrics" },
    grafana: { path: "/metrics" },
  };

export interface PrometheusConfigInput {
  readonly stackKey: string;
  readonly scrapeInterval: string;
  readonly serviceDiscovery: "consul" | "http";
  /** "ip:port" of every enabled component, by component. */
  readonly components: Partial<Record<StackComponent, string>>;
  /** "gateway:port" where the operator serves /metrics and /sd/prometheus. */
  readonly operator: string;
}

function componentJobs(input: PrometheusConfigInput): Record<string, unknown>[] {
  const jobs: Record<string, unknown>[] = [];
  for (const [component, address] of Object.entries(input.components) as [StackComponent, string][]) {
    const endpoint = METRICS_ENDPOINTS[component];
    jobs.push({
      job_name: component,
      metrics_path: endpoint.path,
      ...(endpoint.params ? { params: endpoint.params } : {}),
      static_configs: [{ targets: [address], labels: { mlops_component: component } }],
    });
  }
  return jobs;
}

function trainingJobsJob(input: PrometheusConfigInput): Record<string, unknown> | undefined {
  if (input.serviceDiscovery === "http") {
    return {
      job_name: TRAININGJOBS_JOB,
      http_sd_configs: [
        { url: `http://${input.operator}${SD_PATH}`, refresh_interval: input.scrapeInterval },
      ],
    };
  }
  const consul = input.components.consul;
  if (consul === undefined) return undefined;
  return {
    job_name: TRAININGJOBS_JOB,
    consul_sd_configs: [{ server: consul, tags: [SCRAPE_TAG], refresh_interval: input.scrapeInterval }],
    relabel_configs: [
      { source_labels: ["__meta_consul_tags"], regex: `.*,${SCRAPE_TAG},.*`, action: "keep" },
      {
        source_labels: [`__meta_consul_service_metadata_${METRICS_PATH_META}`],
        regex: "(.+)",
        target_label: "__metrics_path__",
        replacement: "$1",
      },
      {
        source_labels: ["__meta_consul_service_address", "__meta_consul_service_port"],
        separator: ":",
        regex: "(.+):([0-9]+)",
        target_label: "__address__",
        replacement: "$1:$2",
      },
      { source_labels: ["__meta_consul_service"], target_label: "service" },
      {
        source_labels: ["__meta_consul_service_metadata_mlops_namespace"],
        target_label: "mlops_namespace",
      },
      { source_labels: ["__meta_consul_service_metadata_mlops_name"], target_label: "mlops_name" },
    ],
  };
}

export function prometheusConfig(input: PrometheusConfigInput): Record<string, unknown> {
  const training = trainingJobsJob(input);
  return {
    global: {
      scrape_interval: input.scrapeInterval,
      evaluation_interval: input.scrapeInterval,
      external_labels: { mlops_stack: input.stackKey },
    },
    rule_files: [`${PROMETHEUS_RULES_DIR}/*.yml`],
    scrape_configs: [
      { job_name: OPERATOR_JOB, static_configs: [{ targets: [input.operator] }] },
      ...componentJobs(input),
      ...(training ? [training] : []),
    ],
  };
}

export function prometheusConfigText(input: PrometheusConfigInput): string {
  return stringify(prometheusConfig(input));
}

/** Alert rules generated for one stack: a component down, the operator unreachable. */
export function stackRulesText(components: readonly StackComponent[]): string {
  const jobs = components.join("|");
  return stringify({
    groups: [
      {
        name: "mlops-stack",
        rules: [
          {
            alert: "MlopsStackComponentDown",
            expr: `up{job=~"${jobs}"} == 0`,
            for: "1m",
            labels: { severity: "warning" },
            annotations: {
              summary: "Stack component {{ $labels.job }} is down",
              description:
                "Prometheus cannot scrape {{ $labels.job }} at {{ $labels.instance }} for 1 minute.",
            },
          },
          {
            alert: "MlopsOperatorDown",
            expr: `up{job="${OPERATOR_JOB}"} == 0`,
            for: "2m",
            labels: { severity: "critical" },
            annotations: {
              summary: "mlops-operator is not reachable",
              description: "Prometheus cannot scrape the operator at {{ $labels.instance }} for 2 minutes.",
            },
          },
        ],
      },
    ],
  });
}

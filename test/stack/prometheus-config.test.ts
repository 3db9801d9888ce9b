// The generated prometheus.yml. Debian's promtool has no Consul service discovery, so the
// consul_sd_configs part is checked here against Prometheus's documented configuration structure
// (docs/prometheus/latest/configuration/configuration.md, <consul_sd_config> and <relabel_config>);
// the http variant and the rule files go through promtool in promtool.test.ts.
import { describe, expect, it } from "vitest";

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, probed field by field below
type Yaml = any;

import { parse } from "yaml";
import { SCRAPE_TAG } from "../../src/stack/config/prometheus.ts";
import { renderStack } from "../../src/stack/render.ts";
import { containerOf, renderOptions, stackOf } from "./fixtures.ts";

// <consul_sd_config> fields (Prometheus 2.55 / 3.x docs), with the YAML type each takes.
const CONSUL_SD_FIELDS: Record<string, "string" | "boolean" | "list" | "map" | "duration" | "object"> = {
  server: "string",
  path_prefix: "string",
  token: "string",
  datacenter: "string",
  namespace: "string",
  partition: "string",
  filter: "string",
  scheme: "string",
  username: "string",
  password: "string",
  services: "list",
  tags: "list",
  node_meta: "map",
  tag_separator: "string",
  allow_stale: "boolean",
  refresh_interval: "duration",
  basic_auth: "object",
  authorization: "object",
  oauth2: "object",
  proxy_url: "string",
  follow_redirects: "boolean",
  enable_http2: "boolean",
  tls_config: "object",
};
const RELABEL_FIELDS = new Set([
  "source_labels",
  "separator",
  "regex",
  "modulus",
  "target_label",
  "replacement",
  "action",
]);
const RELABEL_ACTIONS = new Set([
  "replace",
  "lowercase",
  "uppercase",
  "keep",
  "drop",
  "keepequal",
  "dropequal",
  "hashmod",
  "labelmap",
  "labeldrop",
  "labelkeep",
]);
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

function typeOf(value: unknown): string {
  if (Array.isArray(value)) return "list";
  if (typeof value === "string") return DURATION.test(value) ? "duration|string" : "string";
  return typeof value === "object" && value !== null ? "map|object" : typeof value;
}

function prometheusYaml(spec: Record<string, unknown> = {}) {
  const c = containerOf(renderStack(stackOf(spec), renderOptions), "prometheus");
  return parse(c.files.find((f) => f.path === "/etc/prometheus/prometheus.yml")?.content ?? "");
}

describe("prometheus.yml with serviceDiscovery: consul", () => {
  const config = prometheusYaml();
  const jobs = config.scrape_configs as Record<string, unknown>[];
  const training = jobs.find((j) => j.job_name === "mlops-trainingjobs") as Yaml;

  it("uses consul_sd_configs against the stack's Consul with only documented fields of the right type", () => {
    expect(training.consul_sd_configs).toHaveLength(1);
    const sd = training.consul_sd_configs[0] as Record<string, unknown>;
    expect(sd.server).toBe("172.20.0.10:8500");
    for (const [key, value] of Object.entries(sd)) {
      const want = CONSUL_SD_FIELDS[key];
      expect(want, `consul_sd_config has no field ${key}`).toBeDefined();
      expect(typeOf(value)).toContain(want === "duration" ? "duration" : want === "object" ? "object" : want);
    }
  });

  it("keeps services by the operator's tag and takes the metrics path and address from the service", () => {
    const relabel = training.relabel_configs as Yaml[];
    for (const rule of relabel) {
      for (const key of Object.keys(rule)) expect(RELABEL_FIELDS.has(key), key).toBe(true);
      expect(RELABEL_ACTIONS.has(rule.action ?? "replace")).toBe(true);
      if (rule.target_label) expect(rule.target_label).toMatch(LABEL_NAME);
      for (const label of rule.source_labels ?? []) expect(label).toMatch(LABEL_NAME);
      if (rule.regex) expect(() => new RegExp(`^(?:${rule.regex})$`)).not.toThrow();
    }
    const keep = relabel.find((r) => r.action === "keep");
    expect(keep).toMatchObject({ source_labels: ["__meta_consul_tags"] });
    // Consul's tags label is wrapped in separators: ",a,mlops-operator,b,".
    expect(new RegExp(`^(?:${keep?.regex})$`).test(`,a,${SCRAPE_TAG},b,`)).toBe(true);
    expect(new RegExp(`^(?:${keep?.regex})$`).test(",a,b,")).toBe(false);
    const path = relabel.find((r) => r.target_label === "__metrics_path__");
    expect(path?.source_labels).toEqual(["__meta_consul_service_metadata_metrics_path"]);
    const address = relabel.find((r) => r.target_label === "__address__");
    expect(address?.source_labels).toEqual(["__meta_consul_service_address", "__meta_consul_service_port"]);
    const joined = `172.20.0.55${address?.separator}9100`;
    expect(joined.replace(new RegExp(`^(?:${address?.regex})$`), address?.replacement)).toBe(
      "172.20.0.55:9100",
    );
  });

  it("scrapes the operator at the network's gateway, never 127.0.0.1, and each component", () => {
    const operator = jobs.find((j) => j.job_name === "mlops-operator") as Yaml;
    expect(operator.static_configs[0].targets).toEqual(["172.20.0.1:9464"]);
    expect(jobs.map((j) => j.job_name)).toEqual([
      "mlops-operator",
      "consul",
      "nomad",
      "prometheus",
      "grafana",
      "mlops-trainingjobs",
    ]);
    expect(JSON.stringify(config)).not.toContain("127.0.0.1");
  });
});

describe("prometheus.yml with serviceDiscovery: http", () => {
  it("uses the operator's /sd/prometheus at the gateway and no Consul discovery", () => {
    const config = prometheusYaml({
      network: { subnet: "172.28.0.0/16" },
      consul: { ip: "172.28.0.10" },
      nomad: { ip: "172.28.0.20" },
      prometheus: { ip: "172.28.0.30", serviceDiscovery: "http" },
      grafana: { ip: "172.28.0.40" },
    });
    const training = config.scrape_configs.find(
      (j: { job_name: string }) => j.job_name === "mlops-trainingjobs",
    );
    expect(training.http_sd_configs).toEqual([
      { url: "http://172.28.0.1:9464/sd/prometheus", refresh_interval: "15s" },
    ]);
    expect(JSON.stringify(config)).not.toContain("consul_sd_configs");
  });
});

// Consul agent configuration (JSON, which Consul reads from its config directory like HCL): one
// server that bootstraps itself, HTTP API and UI on all interfaces, Prometheus telemetry. ACLs are
// off in v1alpha1 (README).
export interface ConsulConfigInput {
  readonly nodeName: string;
  readonly ip: string;
  readonly port: number;
}

export const CONSUL_CONFIG_DIR = "/consul/config";
export const CONSUL_DATA_DIR = "/consul/data";

export function consulConfig(input: ConsulConfigInput): Record<string, unknown> {
  return {
    datacenter: "dc1",
    node_name: input.nodeName,
    data_dir: CONSUL_DATA_DIR,
    server: true,
    bootstrap_expect: 1,
    bind_addr: input.ip,
    advertise_addr: input.ip,
    client_addr: "0.0.0.0",
    ports: { http: input.port },
    ui_config: { enabled: true },
    acl: { enabled: false },
    telemetry: { prometheus_retention_time: "60s", disable_hostname: true },
    log_level: "INFO",
  };
}

export function consulConfigText(input: ConsulConfigInput): string {
  return `${JSON.stringify(consulConfig(input), null, 2)}\n`;
}

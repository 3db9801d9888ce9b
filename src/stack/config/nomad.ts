// Nomad agent configuration (HCL): one server that is also a client, the Docker driver with host
// volumes allowed and privileged containers refused, Consul integration against the stack's
// Consul, Prometheus telemetry. ACLs are off in v1alpha1 (README). The data directory is the same
// path inside the container as on the host: dockerd bind-mounts allocation directories by host path.
import { type HclBody, toHcl } from "./hcl.ts";

export interface NomadConfigInput {
  readonly nodeName: string;
  readonly ip: string;
  readonly port: number;
  readonly dataDir: string;
  /** "ip:port" of the stack's Consul; absent when Consul is disabled. */
  readonly consulAddress: string | undefined;
  /** The stack's network, for task containers (docker driver network_mode) and documentation. */
  readonly network: string;
}

export const NOMAD_CONFIG_PATH = "/etc/nomad.d/mlops.hcl";

export function nomadConfig(input: NomadConfigInput): HclBody {
  return {
    name: input.nodeName,
    datacenter: "dc1",
    data_dir: input.dataDir,
    bind_addr: "0.0.0.0",
    advertise: { http: input.ip, rpc: input.ip, serf: input.ip },
    ports: { http: input.port },
    server: { enabled: true, bootstrap_expect: 1 },
    client: { enabled: true, meta: { mlops_network: input.network } },
    consul: input.consulAddress === undefined ? undefined : { address: input.consulAddress },
    acl: { enabled: false },
    'plugin "docker"': { config: { allow_privileged: false, volumes: { enabled: true } } },
    telemetry: {
      prometheus_metrics: true,
      publish_allocation_metrics: true,
      publish_node_metrics: true,
    },
  };
}

export function nomadConfigText(input: NomadConfigInput): string {
  return toHcl(nomadConfig(input));
}

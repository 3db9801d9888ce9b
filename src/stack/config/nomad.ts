// Nomad agent configuration (HCL): one server that is also a client, the Docker driver with host
// volumes allowed and privileged containers refused, Consul integration against the stack's
// Consul, Prometheus telemetry. ACLs are off in v1alpha1 (README). The data directory is the same
// path inside the container as on the host: dockerd bind-mounts allocation directories by host path.
// The client declares the stack's host volumes (`host_volume` blocks: without them Nomad filters
// every node as "missing compatible host volumes") and, for GPUs, loads the external NVIDIA device
// plugin from `plugin_dir` (Nomad bundles no device plugin: without it, "missing devices").
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
  /** Host volumes the client declares (name → host path). */
  readonly hostVolumes?: readonly { name: string; path: string; readOnly: boolean }[];
  /** The NVIDIA device plugin, when GPUs are enabled. */
  readonly gpu?: {
    readonly pluginDir: string;
    readonly runtime: string;
    readonly fingerprintPeriod: string;
    readonly ignoredGpuIds?: readonly string[];
  };
}

/** The NVIDIA device plugin's name: its binary in plugin_dir and its `plugin` block. */
export const NVIDIA_PLUGIN = "nomad-device-nvidia";

export const NOMAD_CONFIG_PATH = "/etc/nomad.d/mlops.hcl";

export function nomadConfig(input: NomadConfigInput): HclBody {
  return {
    name: input.nodeName,
    datacenter: "dc1",
    data_dir: input.dataDir,
    plugin_dir: input.gpu?.pluginDir,
    bind_addr: "0.0.0.0",
    advertise: { http: input.ip, rpc: input.ip, serf: input.ip },
    ports: { http: input.port },
    server: { enabled: true, bootstrap_expect: 1 },
    client: {
      enabled: true,
      meta: { mlops_network: input.network },
      ...Object.fromEntries(
        (input.hostVolumes ?? []).map((v) => [
          `host_volume ${JSON.stringify(v.name)}`,
          { path: v.path, read_only: v.readOnly },
        ]),
      ),
    },
    consul: input.consulAddress === undefined ? undefined : { address: input.consulAddress },
    acl: { enabled: false },
    'plugin "docker"': {
      config: {
        allow_privileged: false,
        volumes: { enabled: true },
        ...(input.gpu ? { nvidia_runtime: input.gpu.runtime } : {}),
      },
    },
    [`plugin ${JSON.stringify(NVIDIA_PLUGIN)}`]: input.gpu
      ? {
          config: {
            enabled: true,
            fingerprint_period: input.gpu.fingerprintPeriod,
            ...(input.gpu.ignoredGpuIds?.length ? { ignored_gpu_ids: input.gpu.ignoredGpuIds } : {}),
          },
        }
      : undefined,
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

// Each component of a stack as Docker runs it (pure): user, command, environment, mounts, health
// check and generated configuration files, following what each official image expects
// (the images' documented users, paths and flags). Nomad is the one component that runs as root (see docs/stack.md).
import type { StackComponent } from "../api/names.ts";
import { stackVolumeName } from "../api/names.ts";
import type { MlopsStack } from "../api/resources.ts";
import { gatewayOf } from "../api/rules.ts";
import { CONSUL_CONFIG_DIR, CONSUL_DATA_DIR, consulConfigText } from "./config/consul.ts";
import {
  GRAFANA_DASHBOARDS,
  GRAFANA_PASSWORD_FILE,
  GRAFANA_PROVISIONING,
  grafanaDashboardProviders,
  grafanaDatasources,
} from "./config/grafana.ts";
import { NOMAD_CONFIG_PATH, nomadConfigText } from "./config/nomad.ts";
import {
  PROMETHEUS_CONFIG_PATH,
  PROMETHEUS_RULES_DIR,
  prometheusConfigText,
  stackRulesText,
} from "./config/prometheus.ts";
import { type ConfigFile, type HealthCheck, type Mount, TIERS } from "./model.ts";

export interface RenderOptions {
  readonly ownerId: string;
  /** Port of the operator's HTTP server (/metrics, /sd/prometheus), reached at the network's gateway. */
  readonly operatorPort: number;
  /** dockerd's root directory (`docker info`): Nomad's data volume is mounted at its host path. */
  readonly dockerRootDir: string;
  /** Host path of the Docker socket given to Nomad. */
  readonly dockerSocket: string;
  /** Dashboards for Grafana's file provider (manifests/grafana/*.json): file name → JSON text. */
  readonly dashboards: Readonly<Record<string, string>>;
  /** The operator's alert rules (manifests/prometheus/alerts.yml), copied beside the stack's own. */
  readonly alertRules?: string;
  readonly grafanaAdminPassword: string;
  /** Extra labels on every object (tests mark theirs with mlops.dev/test=true); never the hash. */
  readonly extraLabels?: Readonly<Record<string, string>>;
}

/**
 * Capabilities of the Nomad container when `spec.nomad.privileged` is false (engines that refuse
 * privileged containers): mounts for allocation directories (SYS_ADMIN), network setup (NET_ADMIN).
 */
export const NOMAD_UNPRIVILEGED_CAPS = ["SYS_ADMIN", "NET_ADMIN"] as const;

/** Numeric users of the official images (files in the archive are owned by them). */
export const COMPONENT_USERS: Record<StackComponent, { uid: number; gid: number }> = {
  consul: { uid: 100, gid: 1000 },
  nomad: { uid: 0, gid: 0 },
  prometheus: { uid: 65534, gid: 65534 },
  grafana: { uid: 472, gid: 0 },
};

const DATA_DIRS: Record<Exclude<StackComponent, "nomad">, string> = {
  consul: CONSUL_DATA_DIR,
  prometheus: "/prometheus",
  grafana: "/var/lib/grafana",
};

export const HEALTH_PATHS: Record<StackComponent, string> = {
  consul: "/v1/status/leader",
  nomad: "/v1/status/leader",
  prometheus: "/-/ready",
  grafana: "/api/health",
};

export function healthCheck(component: StackComponent, port: number): HealthCheck {
  return {
    test: ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${port}${HEALTH_PATHS[component]}`],
    intervalMs: 1000,
    timeoutMs: 3000,
    retries: 3,
    startPeriodMs: 60_000,
  };
}

/** Host port published on 127.0.0.1 (0: none): hostPort when set, else the port. */
export function hostPortOf(spec: { port: number; hostPort?: number }): number {
  return spec.hostPort ?? spec.port;
}

/** Nomad's data directory: its named volume's path on the host, mounted at that same path. */
export function nomadDataDir(dockerRootDir: string, volume: string): string {
  return `${dockerRootDir.replace(/\/+$/, "")}/volumes/${volume}/_data`;
}

export interface Part {
  readonly cmd: readonly string[];
  readonly env: readonly string[];
  readonly mounts: readonly Mount[];
  readonly files: readonly ConfigFile[];
  readonly privileged?: boolean;
  readonly capAdd?: readonly string[];
  /** Docker runtime (the NVIDIA container runtime for Nomad with GPUs). */
  readonly runtime?: string;
}

export function componentPart(stack: MlopsStack, component: StackComponent, options: RenderOptions): Part {
  const { namespace, name } = stack.metadata;
  const spec = stack.spec;
  const volume = stackVolumeName(namespace, name, component);
  const address = (c: StackComponent) => `${spec[c].ip}:${spec[c].port}`;
  const enabled = (c: StackComponent) => spec[c].enabled;
  const dataMount = (target: string): Mount => ({ type: "volume", source: volume, target });
  switch (component) {
    case "consul":
      return {
        cmd: ["agent", "-client=0.0.0.0"],
        env: ["CONSUL_DISABLE_PERM_MGMT=true"],
        mounts: [dataMount(CONSUL_DATA_DIR)],
        files: [
          {
            path: `${CONSUL_CONFIG_DIR}/mlops.json`,
            mode: 0o640,
            content: consulConfigText({
              nodeName: `${name}-consul`,
              ip: spec.consul.ip,
              port: spec.consul.port,
            }),
          },
        ],
      };
    case "nomad": {
      const dataDir = nomadDataDir(options.dockerRootDir, volume);
      const { privileged, hostVolumes, gpu } = spec.nomad;
      return {
        cmd: ["agent", `-config=${NOMAD_CONFIG_PATH}`],
        // With GPUs, the NVIDIA runtime gives the Nomad container NVML (the plugin fingerprints GPUs
        // through it); the training containers get their GPUs from the docker driver.
        env: [
          "NOMAD_SKIP_DOCKER_IMAGE_WARN=1",
          ...(gpu.enabled ? ["NVIDIA_VISIBLE_DEVICES=all", "NVIDIA_DRIVER_CAPABILITIES=utility"] : []),
        ],
        privileged,
        ...(privileged ? {} : { capAdd: [...NOMAD_UNPRIVILEGED_CAPS] }),
        ...(gpu.enabled ? { runtime: gpu.runtime } : {}),
        mounts: [
          dataMount(dataDir),
          { type: "bind", source: options.dockerSocket, target: "/var/run/docker.sock" },
          { type: "bind", source: "/sys/fs/cgroup", target: "/sys/fs/cgroup" },
          // Host volumes and the plugin directory at their host paths: Nomad checks them and hands
          // the same paths to dockerd, which bind-mounts them by host path.
          ...hostVolumes.map(
            (v): Mount => ({ type: "bind", source: v.path, target: v.path, readOnly: v.readOnly }),
          ),
          ...(gpu.enabled
            ? [{ type: "bind", source: gpu.pluginDir, target: gpu.pluginDir, readOnly: true } as Mount]
            : []),
        ],
        files: [
          {
            path: NOMAD_CONFIG_PATH,
            mode: 0o640,
            content: nomadConfigText({
              nodeName: `${name}-nomad`,
              ip: spec.nomad.ip,
              port: spec.nomad.port,
              dataDir,
              consulAddress: enabled("consul") ? address("consul") : undefined,
              network: spec.network.name,
              hostVolumes,
              ...(gpu.enabled
                ? {
                    gpu: {
                      pluginDir: gpu.pluginDir,
                      runtime: gpu.runtime,
                      fingerprintPeriod: gpu.fingerprintPeriod,
                      ...(gpu.ignoredGpuIds ? { ignoredGpuIds: gpu.ignoredGpuIds } : {}),
                    },
                  }
                : {}),
            }),
          },
        ],
      };
    }
    case "prometheus": {
      const components: Partial<Record<StackComponent, string>> = {};
      for (const c of TIERS.flat()) if (enabled(c)) components[c] = address(c);
      const rules: ConfigFile[] = [
        {
          path: `${PROMETHEUS_RULES_DIR}/mlops-stack.yml`,
          mode: 0o644,
          content: stackRulesText(Object.keys(components) as StackComponent[]),
        },
      ];
      if (options.alertRules !== undefined) {
        rules.push({
          path: `${PROMETHEUS_RULES_DIR}/mlops-operator.yml`,
          mode: 0o644,
          content: options.alertRules,
        });
      }
      return {
        cmd: [
          `--config.file=${PROMETHEUS_CONFIG_PATH}`,
          "--storage.tsdb.path=/prometheus",
          `--web.listen-address=0.0.0.0:${spec.prometheus.port}`,
        ],
        env: [],
        mounts: [dataMount(DATA_DIRS.prometheus)],
        files: [
          {
            path: PROMETHEUS_CONFIG_PATH,
            mode: 0o644,
            content: prometheusConfigText({
              stackKey: `${namespace}/${name}`,
              scrapeInterval: spec.prometheus.scrapeInterval,
              serviceDiscovery: spec.prometheus.serviceDiscovery,
              components,
              operator: `${gatewayOf(spec.network.subnet)}:${options.operatorPort}`,
            }),
          },
          ...rules,
        ],
      };
    }
    case "grafana":
      return {
        cmd: [],
        env: [
          `GF_SERVER_HTTP_PORT=${spec.grafana.port}`,
          "GF_SECURITY_ADMIN_USER=admin",
          `GF_SECURITY_ADMIN_PASSWORD__FILE=${GRAFANA_PASSWORD_FILE}`,
          `GF_PATHS_PROVISIONING=${GRAFANA_PROVISIONING}`,
          "GF_ANALYTICS_REPORTING_ENABLED=false",
          "GF_ANALYTICS_CHECK_FOR_UPDATES=false",
        ],
        mounts: [dataMount(DATA_DIRS.grafana)],
        files: [
          {
            path: `${GRAFANA_PROVISIONING}/datasources/mlops.yaml`,
            mode: 0o640,
            content: grafanaDatasources(
              enabled("prometheus") ? `http://${address("prometheus")}` : undefined,
            ),
          },
          {
            path: `${GRAFANA_PROVISIONING}/dashboards/mlops.yaml`,
            mode: 0o640,
            content: grafanaDashboardProviders(),
          },
          ...Object.entries(options.dashboards)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([file, json]) => ({ path: `${GRAFANA_DASHBOARDS}/${file}`, mode: 0o640, content: json })),
          { path: GRAFANA_PASSWORD_FILE, mode: 0o400, content: options.grafanaAdminPassword, secret: true },
        ],
      };
  }
}

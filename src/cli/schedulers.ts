// The schedulers a TrainingJob can run on (local Docker, the configured Nomad, a stack's Nomad with
// that stack's Grafana and Consul), built lazily per target. `run`, `plan` and `logs` share it.
import type { Logger } from "pino";
import { messageOf } from "../api/errors.ts";
import type { MlopsStack } from "../api/resources.ts";
import { ConsulClient, ConsulMetricsHealth } from "../clients/consul/index.ts";
import { connectDocker, type DockerConnection, type ownedContainerEvents } from "../clients/docker/index.ts";
import { GrafanaClient, GrafanaRunAnnotator } from "../clients/grafana/index.ts";
import { NomadClient } from "../clients/nomad/index.ts";
import { silentLogger } from "../observability/logger.ts";
import { DockerScheduler } from "../scheduler/docker/index.ts";
import { NomadScheduler } from "../scheduler/nomad/index.ts";
import type { Scheduler } from "../scheduler/port.ts";
import { DefaultSchedulerResolver, type SchedulerMode, type StackPorts } from "../scheduler/resolver.ts";
import { readGrafanaPasswordSync } from "../stack/secrets.ts";
import type { MetricsHealth, RunAnnotator } from "../trainingjob/ports.ts";

/**
 * The Grafana and Consul of a Ready stack, reached from the host: runs on the stack's Nomad are
 * annotated in its Grafana (as admin, with the password generated into the state directory) and
 * their metrics health comes from its Consul.
 */
export function stackPorts(stack: MlopsStack, stateDir: string, log: Logger): StackPorts {
  const endpoints = stack.status?.endpoints ?? {};
  const url = (name: string) => endpoints[name]?.host ?? endpoints[name]?.internal;
  const ports: { annotator?: RunAnnotator; health?: MetricsHealth } = {};
  const grafanaUrl = url("grafana");
  if (grafanaUrl) {
    const { namespace, name } = stack.metadata;
    try {
      const password = readGrafanaPasswordSync(stateDir, namespace, name);
      ports.annotator = new GrafanaRunAnnotator(
        new GrafanaClient({ url: grafanaUrl, user: "admin", password }),
      );
    } catch (error) {
      log.warn(
        { stack: `${namespace}/${name}`, err: messageOf(error) },
        "no Grafana admin password: runs on this stack are not annotated",
      );
    }
  }
  const consulUrl = url("consul");
  if (consulUrl)
    ports.health = new ConsulMetricsHealth({ client: new ConsulClient({ address: consulUrl }), logger: log });
  return ports;
}

export interface ResolverOptions {
  readonly scheduler: SchedulerMode;
  readonly ownerId: string;
  readonly nomadAddr?: string;
  readonly log?: Logger;
  readonly docker?: DockerConnection;
  readonly dockerEvents?: ReturnType<typeof ownedContainerEvents>;
  /** Called once for each scheduler built (to follow its changes). */
  readonly onScheduler?: (scheduler: Scheduler) => void;
  /** The Grafana and Consul of a stack, for jobs that run on it. */
  readonly stackPorts?: (stack: MlopsStack) => StackPorts;
}

/** The schedulers a TrainingJob can run on, built lazily per target (run and plan share it). */
export async function buildResolver(options: ResolverOptions): Promise<DefaultSchedulerResolver> {
  const { ownerId } = options;
  const log = options.log ?? silentLogger();
  const docker = options.docker ?? (await connectDocker());
  const built = (scheduler: Scheduler): Scheduler => {
    options.onScheduler?.(scheduler);
    return scheduler;
  };
  return new DefaultSchedulerResolver({
    mode: options.scheduler,
    ...(options.stackPorts ? { stackPorts: options.stackPorts } : {}),
    ...(options.nomadAddr ? { configuredNomad: options.nomadAddr } : {}),
    docker: () =>
      built(
        new DockerScheduler({
          connection: docker,
          ownerId,
          log,
          ...(options.dockerEvents ? { events: options.dockerEvents } : {}),
        }),
      ),
    nomad: (address, network) =>
      built(
        new NomadScheduler({
          client: new NomadClient({ address }),
          ownerId,
          log,
          ownsClient: true,
          ...(network ? { network } : {}),
        }),
      ),
  });
}

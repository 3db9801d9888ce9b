// The schedulers a TrainingJob can run on (local Docker, the configured Nomad, a stack's Nomad with
// that stack's Grafana and Consul), built lazily per target. `run`, `plan` and `logs` share it.
// Without a connection given, the Docker one is made on the Docker scheduler's first call
// (lazyDocker): a `plan` or `logs` that never reaches Docker never loads dockerode.
import type { Logger } from "pino";
import type { MlopsStack } from "../api/resources.ts";
import { ConsulClient } from "../clients/consul/index.ts";
import { type DockerConnection, lazyDocker, type ownedContainerEvents } from "../clients/docker/index.ts";
import { CredentialedGrafana } from "../clients/grafana/index.ts";
import { silentLogger } from "../observability/logger.ts";
import type { Adoption } from "../scheduler/adoption.ts";
import { DockerScheduler } from "../scheduler/docker/index.ts";
import { nomadSchedulerFactory } from "../scheduler/nomad/index.ts";
import type { Scheduler } from "../scheduler/port.ts";
import { grafanaCredential } from "../stack/secrets.ts";
import {
  ConsulMetricsHealth,
  GrafanaRunAnnotator,
  PrometheusProgressReader,
  RateLimitedProgressReader,
} from "../trainingjob/adapters/index.ts";
import type { MetricsHealth, ProgressReader, RunAnnotator } from "../trainingjob/ports.ts";
import { DefaultSchedulerResolver, type SchedulerMode, type StackPorts } from "../trainingjob/resolver.ts";

/**
 * The Grafana and Consul of a Ready stack, reached from the host: runs on the stack's Nomad are
 * annotated in its Grafana (as admin, with the password generated into the state directory, read
 * when an annotation is written), their metrics health comes from its Consul and their progress
 * from its Prometheus (at most one query per run per PROGRESS_READ_INTERVAL_MS).
 */
export function stackPorts(
  stack: MlopsStack,
  stateDir: string,
  log: Logger,
  progressIntervalMs = PROGRESS_READ_INTERVAL_MS,
): StackPorts {
  const endpoints = stack.status?.endpoints ?? {};
  const url = (name: string) => endpoints[name]?.host ?? endpoints[name]?.internal;
  const ports: { annotator?: RunAnnotator; health?: MetricsHealth; progress?: ProgressReader } = {};
  const grafanaUrl = url("grafana");
  if (grafanaUrl) {
    const { namespace, name } = stack.metadata;
    const credential = grafanaCredential(stateDir, namespace, name);
    ports.annotator = new GrafanaRunAnnotator(new CredentialedGrafana(grafanaUrl, credential));
  }
  const consulUrl = url("consul");
  if (consulUrl)
    ports.health = new ConsulMetricsHealth({ client: new ConsulClient({ address: consulUrl }), logger: log });
  const prometheusUrl = url("prometheus");
  if (prometheusUrl)
    ports.progress = new RateLimitedProgressReader(
      new PrometheusProgressReader(prometheusUrl),
      progressIntervalMs,
    );
  return ports;
}

/** The least time between two reads of one run's progress (a Prometheus query or a direct scrape). */
export const PROGRESS_READ_INTERVAL_MS = 15_000;

export interface ResolverOptions {
  readonly scheduler: SchedulerMode;
  readonly ownerId: string;
  readonly nomadAddr?: string;
  readonly log?: Logger;
  /** Default: a connection made on the first Docker call (lazyDocker). */
  readonly docker?: DockerConnection;
  readonly dockerEvents?: ReturnType<typeof ownedContainerEvents>;
  /** Called once for each scheduler built (to follow its changes). */
  readonly onScheduler?: (scheduler: Scheduler) => void;
  /** The Grafana and Consul of a stack, for jobs that run on it. */
  readonly stackPorts?: (stack: MlopsStack) => StackPorts;
  /** Nomad jobs of a previous default owner id of the source, adopted (src/scheduler/adoption.ts). */
  readonly adoption?: Adoption;
  /** False (`run --once`): Nomad is observed from one list, with no event stream to follow. */
  readonly followEvents?: boolean;
}

/** The schedulers a TrainingJob can run on, built lazily per target (run and plan share it). */
export async function buildResolver(options: ResolverOptions): Promise<DefaultSchedulerResolver> {
  const { ownerId } = options;
  const log = options.log ?? silentLogger();
  const docker = options.docker ?? lazyDocker();
  const built = (scheduler: Scheduler): Scheduler => {
    options.onScheduler?.(scheduler);
    return scheduler;
  };
  const nomad = nomadSchedulerFactory({
    ownerId,
    log,
    ...(options.adoption ? { adoption: options.adoption } : {}),
    ...(options.followEvents === false ? { followEvents: false } : {}),
  });
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
    nomad: (address, network, stack) => built(nomad(address, network, stack)),
  });
}

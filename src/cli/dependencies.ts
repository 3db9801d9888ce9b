// The servers `run` needs, as readiness probes (src/observability/readiness.ts): the configured
// Nomad and the Docker engine (schedulers: down means not ready), Consul and Grafana (runs go on
// without them: down means degraded). Each probe is the cheapest call that proves the server
// answers: Nomad's /v1/status/leader, Docker's /_ping, Consul's leader, Grafana's /api/health.
// When one answers again after it was down, what failed meanwhile is retried at once.

import type { Logger } from "pino";
import type { ConfiguredConsul } from "../clients/consul/index.ts";
import type { DockerConnection } from "../clients/docker/index.ts";
import type { ConfiguredGrafana } from "../clients/grafana/index.ts";
import { NomadClient, toNomadError } from "../clients/nomad/index.ts";
import type { WorkQueue } from "../controller/workqueue.ts";
import type { Dependency, Readiness } from "../observability/readiness.ts";
import type { SchedulerMode } from "../trainingjob/resolver.ts";

export interface DependencyOptions {
  readonly scheduler: SchedulerMode;
  readonly nomadAddr?: string;
  readonly docker: DockerConnection;
  readonly consul?: ConfiguredConsul;
  readonly grafana?: ConfiguredGrafana;
  /** True while the source declares an MlopsStack (stacks are built on Docker). */
  readonly stacksDeclared: () => boolean;
}

export interface Dependencies {
  readonly list: Dependency[];
  close(): Promise<void>;
}

export function dependencies(options: DependencyOptions): Dependencies {
  const list: Dependency[] = [];
  const closers: (() => Promise<void>)[] = [];
  if (options.nomadAddr) {
    // Its own client: a probe never waits behind the scheduler's requests, and never retries.
    const nomad = new NomadClient({ address: options.nomadAddr, retries: 0 });
    closers.push(() => nomad.close());
    list.push({
      name: `nomad ${nomad.address}`,
      critical: true,
      // With --scheduler docker no job runs there.
      needed: () => options.scheduler !== "docker",
      probe: async (signal) => {
        const endpoint = "/v1/status/leader";
        const response = await nomad.http.request(endpoint, { endpoint, signal });
        if (response.status >= 300) throw toNomadError(nomad.http.errorFor(response, endpoint));
      },
    });
  }
  const dockerRuns = options.scheduler === "docker" || (options.scheduler === "auto" && !options.nomadAddr);
  list.push({
    name: `docker ${options.docker.target}`,
    critical: true,
    needed: () => dockerRuns || options.stacksDeclared(),
    probe: async () => {
      await options.docker.call("/_ping", "ping the Docker engine", (d) => d.ping());
    },
  });
  const { consul, grafana } = options;
  if (consul) {
    list.push({
      name: `consul ${consul.client.baseUrl}`,
      critical: false,
      probe: async (signal) => {
        await consul.client.leader(signal);
      },
    });
  }
  if (grafana) {
    list.push({
      name: `grafana ${grafana.client.baseUrl}`,
      critical: false,
      probe: async () => {
        await grafana.client.health();
      },
    });
  }
  return {
    list,
    async close() {
      await Promise.all(closers.map((close) => close().catch(() => undefined)));
    },
  };
}

/**
 * When a server answers again after it was down, the keys backing off after failures are retried at
 * once (WorkQueue.retryNow), not at a backoff grown during the outage: after a minute's outage the
 * next retry of a key that failed throughout was up to ~48 s away, after an hour's up to 15 min.
 */
export function retryOnRecovery(readiness: Readiness, queue: WorkQueue, log: Logger): void {
  readiness.onRecovered((name) => {
    const retried = queue.retryNow();
    if (retried > 0) log.info({ dependency: name, retried }, `${name} answers again: ${retried} retried now`);
  });
}

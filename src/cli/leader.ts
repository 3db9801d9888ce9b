// `run --leader-elect`: which lock (a Consul session lock with the directory source), the flags
// (controller-runtime's names and defaults), and the campaign: a replica serves /healthz, /readyz
// and /metrics and keeps its source's cache warm while it follows; only once it leads does it clean
// up orphans and start the controller. Losing the lease stops the controller at once (in-flight
// reconciles aborted) and `run` exits 1, as controller-runtime does, for the supervisor to restart it.
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Command } from "commander";
import type { Logger } from "pino";
import { filter, firstValueFrom, map, take } from "rxjs";
import { ConsulSessionLock, consulFromEnv } from "../clients/consul/index.ts";
import { DEFAULT_LEADER_TIMINGS, LeaderElector, LeaderTimingsError } from "../controller/leader.ts";
import { EXIT, ExitError } from "./exit.ts";
import { parseDuration } from "./flags.ts";

export interface LeaderFlags {
  leaderElect?: boolean;
  leaderElectionKey?: string;
  leaderElectionNamespace?: string;
  leaderElectLeaseDuration: number;
  leaderElectRenewDeadline: number;
  leaderElectRetryPeriod: number;
  leaderElectionSessionTtlMin: number;
}

export function withLeaderFlags(command: Command): Command {
  return command
    .option("--leader-elect", "run as one of several replicas: only the elected leader reconciles")
    .option(
      "--leader-election-key <key>",
      "directory source: the Consul key of the lock (default mlops-operator/leader/<owner id>)",
    )
    .option(
      "--leader-election-namespace <ns>",
      "kubernetes source: the namespace of the Lease (default: the operator's namespace)",
    )
    .option(
      "--leader-elect-lease-duration <duration>",
      "how long followers wait before taking over a lease that is not renewed",
      parseDuration,
      DEFAULT_LEADER_TIMINGS.leaseDurationMs,
    )
    .option(
      "--leader-elect-renew-deadline <duration>",
      "how long the leader tries to renew before it stops reconciling",
      parseDuration,
      DEFAULT_LEADER_TIMINGS.renewDeadlineMs,
    )
    .option(
      "--leader-elect-retry-period <duration>",
      "how often replicas try to acquire, and the leader renews",
      parseDuration,
      DEFAULT_LEADER_TIMINGS.retryPeriodMs,
    )
    .option(
      "--leader-election-session-ttl-min <duration>",
      "directory source: Consul's session_ttl_min; the session TTL is the larger of it and half the lease (Consul frees a lock up to twice the TTL after the leader vanished)",
      parseDuration,
      10_000,
    );
}

/** The elector `run` campaigns with, or undefined without --leader-elect. */
export function leaderElectorFor(
  flags: LeaderFlags,
  source: "directory" | "kubernetes",
  ownerId: string,
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
): { elector: LeaderElector; close(): Promise<void> } | undefined {
  if (!flags.leaderElect) return undefined;
  if (source === "kubernetes") {
    throw new ExitError(
      EXIT.usage,
      "--leader-elect with --source kubernetes is not supported yet (a coordination.k8s.io Lease); run one replica",
    );
  }
  const consul = consulFromEnv({}, env);
  if (!consul) {
    throw new ExitError(
      EXIT.usage,
      "--leader-elect with the directory source locks a Consul key: set CONSUL_HTTP_ADDR",
    );
  }
  const lock = new ConsulSessionLock(consul.client, {
    key: flags.leaderElectionKey ?? `mlops-operator/leader/${ownerId}`,
    holder: `${hostname()}_${randomUUID()}`,
    leaseDurationMs: flags.leaderElectLeaseDuration,
    sessionTtlMinMs: flags.leaderElectionSessionTtlMin,
  });
  try {
    const elector = new LeaderElector({
      name: flags.leaderElectionKey ?? `mlops-operator-${ownerId}`,
      lock,
      leaseDurationMs: flags.leaderElectLeaseDuration,
      renewDeadlineMs: flags.leaderElectRenewDeadline,
      retryPeriodMs: flags.leaderElectRetryPeriod,
      log,
    });
    return {
      elector,
      close: async () => {
        await elector.release();
        await consul.close();
      },
    };
  } catch (error) {
    void consul.close();
    if (error instanceof LeaderTimingsError) throw new ExitError(EXIT.usage, error.message);
    throw error;
  }
}

/** Resolves true once this replica leads, false when `stop` resolves first (a signal while following). */
export async function campaign(elector: LeaderElector, stop: Promise<unknown>): Promise<boolean> {
  elector.start();
  const led = firstValueFrom(elector.leading.pipe(filter(Boolean), take(1)), { defaultValue: false });
  return Promise.race([led, stop.then(() => false)]);
}

/** Resolves when leadership, once held, is lost. */
export function lost(elector: LeaderElector): Promise<void> {
  return firstValueFrom(
    elector.leading.pipe(
      filter((leading) => !leading),
      map(() => undefined),
    ),
    {
      defaultValue: undefined,
    },
  );
}

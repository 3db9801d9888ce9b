// `run --leader-elect`: which lock (a Consul session lock with the directory source, a
// coordination.k8s.io/v1 Lease with the Kubernetes source), the flags
// (controller-runtime's names and defaults), and the campaign: a replica serves /healthz, /readyz
// and /metrics and keeps its source's cache warm while it follows; only once it leads does it clean
// up orphans and start the controller. Losing the lease stops the controller at once (in-flight
// reconciles aborted) and `run` exits 1, as controller-runtime does, for the supervisor to restart it.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { Command } from "commander";
import type { Logger } from "pino";
import { filter, firstValueFrom, map, take } from "rxjs";
import type { SharedState } from "../api/shared-state.ts";
import { ConsulSessionLock, ConsulSharedState, consulFromEnv } from "../clients/consul/index.ts";
import {
  DEFAULT_LEADER_TIMINGS,
  LeaderElector,
  LeaderTimingsError,
  type LeaseLock,
} from "../controller/leader.ts";
import type { loadKubeConfig } from "../sources/kubernetes/index.ts";
import type { KubeLeaseLock } from "../sources/kubernetes/lease.ts";
import type { KubeSharedState } from "../sources/kubernetes/shared-state.ts";
import { EXIT, ExitError } from "./exit.ts";
import { durationOption } from "./flags.ts";

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
      "the lock: directory source, a Consul key (default mlops-operator/leader/<owner id>); kubernetes source, the Lease's name (default mlops-operator-<owner id>)",
    )
    .option(
      "--leader-election-namespace <ns>",
      "kubernetes source: the namespace of the Lease (default: $POD_NAMESPACE, the service account's namespace, the kubeconfig context's, else default)",
    )
    .addOption(
      durationOption(
        "--leader-elect-lease-duration <duration>",
        "how long followers wait before taking over a lease that is not renewed",
        DEFAULT_LEADER_TIMINGS.leaseDurationMs,
      ),
    )
    .addOption(
      durationOption(
        "--leader-elect-renew-deadline <duration>",
        "how long the leader tries to renew before it stops reconciling",
        DEFAULT_LEADER_TIMINGS.renewDeadlineMs,
      ),
    )
    .addOption(
      durationOption(
        "--leader-elect-retry-period <duration>",
        "how often replicas try to acquire, and the leader renews",
        DEFAULT_LEADER_TIMINGS.retryPeriodMs,
      ),
    )
    .addOption(
      durationOption(
        "--leader-election-session-ttl-min <duration>",
        "directory source: Consul's session_ttl_min; the session TTL is the larger of it and half the lease (Consul frees a lock up to twice the TTL after the leader vanished)",
        10_000,
      ),
    );
}

/** Where `run` reads resources from, as far as the lock cares. */
export interface LeaderSource {
  readonly source: "directory" | "kubernetes";
  readonly kubeconfig?: string;
  readonly context?: string;
}

const SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/** One replica's part in the election, as `run` drives it. */
export interface Leadership {
  readonly elector: LeaderElector;
  /**
   * Where what must survive a failover is kept, beside the lock: Consul KV under `<key>/state/`
   * (directory source), ConfigMaps `<lease name>-state.*` in the Lease's namespace (Kubernetes).
   */
  readonly shared?: SharedState;
  /** Resolves true once this replica leads (its source may write again), false when `stop` resolves first. */
  campaign(stop: Promise<unknown>): Promise<boolean>;
  /** Resolves when leadership, once held, is lost. */
  lost(): Promise<void>;
  /** Stops campaigning and releases the lock if held. */
  close(): Promise<void>;
}

/** What a Kubernetes Lease election needs: loaded only then (the Kubernetes client is ~85 MB of RSS). */
export interface KubeLeaseModules {
  readonly loadKubeConfig: typeof loadKubeConfig;
  readonly KubeLeaseLock: typeof KubeLeaseLock;
  readonly KubeSharedState: typeof KubeSharedState;
}

/** The Kubernetes modules `leaderElectorFor` needs for these flags, or undefined when it needs none. */
export async function kubeLeaseModules(
  flags: LeaderFlags & LeaderSource,
): Promise<KubeLeaseModules | undefined> {
  if (!flags.leaderElect || flags.source !== "kubernetes") return undefined;
  const [{ loadKubeConfig }, { KubeLeaseLock }, { KubeSharedState }] = await Promise.all([
    import("../sources/kubernetes/index.ts"),
    import("../sources/kubernetes/lease.ts"),
    import("../sources/kubernetes/shared-state.ts"),
  ]);
  return { loadKubeConfig, KubeLeaseLock, KubeSharedState };
}

/**
 * The election `run` takes part in, or undefined without --leader-elect. `source` (a follower's)
 * writes nothing until it leads: the Kubernetes source's finalizers wait for leadership.
 */
export function leaderElectorFor(
  flags: LeaderFlags & LeaderSource,
  ownerId: string,
  log: Logger,
  source?: object,
  env: NodeJS.ProcessEnv = process.env,
  kube?: KubeLeaseModules,
): Leadership | undefined {
  if (!flags.leaderElect) return undefined;
  const holder = `${hostname()}_${randomUUID()}`;
  let lock: LeaseLock;
  let closeLock = async (): Promise<void> => {};
  let shared: SharedState | undefined;
  if (flags.source === "kubernetes") {
    if (!kube) throw new Error("leaderElectorFor: the Kubernetes modules were not loaded (kubeLeaseModules)");
    const config = kube.loadKubeConfig({
      ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
      ...(flags.context ? { context: flags.context } : {}),
    });
    const contextNamespace = config.getContextObject(config.getCurrentContext())?.namespace;
    const namespace =
      flags.leaderElectionNamespace ??
      env.POD_NAMESPACE ??
      readNamespaceFile() ??
      contextNamespace ??
      "default";
    const name = flags.leaderElectionKey ?? `mlops-operator-${ownerId}`;
    shared = new kube.KubeSharedState(config, { namespace, prefix: `${name}-state` });
    lock = new kube.KubeLeaseLock(config, {
      namespace,
      name,
      holder,
      leaseDurationMs: flags.leaderElectLeaseDuration,
    });
  } else {
    const consul = consulFromEnv({}, env);
    if (!consul) {
      throw new ExitError(
        EXIT.usage,
        "--leader-elect with the directory source locks a Consul key: set CONSUL_HTTP_ADDR",
      );
    }
    const key = flags.leaderElectionKey ?? `mlops-operator/leader/${ownerId}`;
    shared = new ConsulSharedState(consul.client, { prefix: `${key}/state` });
    lock = new ConsulSessionLock(consul.client, {
      key,
      holder,
      leaseDurationMs: flags.leaderElectLeaseDuration,
      sessionTtlMinMs: flags.leaderElectionSessionTtlMin,
    });
    closeLock = () => consul.close();
  }
  try {
    const elector = new LeaderElector({
      name: flags.leaderElectionKey ?? `mlops-operator-${ownerId}`,
      lock,
      leaseDurationMs: flags.leaderElectLeaseDuration,
      renewDeadlineMs: flags.leaderElectRenewDeadline,
      retryPeriodMs: flags.leaderElectRetryPeriod,
      log,
    });
    const finalizing = source as Partial<{ setFinalizing(on: boolean): void }> | undefined;
    finalizing?.setFinalizing?.(false);
    return {
      elector,
      ...(shared ? { shared } : {}),
      campaign: async (stop) => {
        elector.start();
        const led = firstValueFrom(elector.leading.pipe(filter(Boolean), take(1)), { defaultValue: false });
        const leading = await Promise.race([led, stop.then(() => false)]);
        if (leading) finalizing?.setFinalizing?.(true);
        return leading;
      },
      lost: () =>
        firstValueFrom(
          elector.leading.pipe(
            filter((leading) => !leading),
            map(() => undefined),
          ),
          {
            defaultValue: undefined,
          },
        ),
      close: async () => {
        await elector.release();
        await closeLock();
      },
    };
  } catch (error) {
    void closeLock();
    if (error instanceof LeaderTimingsError) throw new ExitError(EXIT.usage, error.message);
    throw error;
  }
}

function readNamespaceFile(): string | undefined {
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

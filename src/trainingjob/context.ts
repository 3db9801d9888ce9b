// What the TrainingJob reconciler gets through its one door to the world.
import type { TrainingJob } from "../api/resources.ts";
import type { BaseContext, ResourceIndex } from "../controller/reconcile.ts";
import type { Scheduler, SchedulerName } from "../scheduler/port.ts";
import type { ResolvedSecrets } from "../secrets/index.ts";
import type { AdmissionGate, MetricsHealth, ProgressReader, RunAnnotator } from "./ports.ts";
import type { Blocker } from "./status.ts";

/**
 * A job's scheduler, with the Grafana and Consul of its stack when it runs on one (annotations go to
 * the stack's Grafana with its generated admin credential; health comes from the stack's Consul).
 */
export type SchedulerChoice =
  | {
      readonly scheduler: Scheduler;
      readonly annotator?: RunAnnotator;
      readonly health?: MetricsHealth;
      readonly progress?: ProgressReader;
    }
  | { readonly blocker: Blocker };

/**
 * Where a job runs: the Nomad of the MlopsStack named by spec.stackRef (waiting until it is Ready),
 * else the Nomad the operator is configured with, else the local Docker engine.
 */
export interface SchedulerResolver {
  resolve(job: TrainingJob, resources: ResourceIndex): SchedulerChoice;
  /** The scheduler a recorded run was placed on, for stop and purge after a move or a deletion. */
  byTarget(name: SchedulerName, target: string): Scheduler | undefined;
}

export interface TrainingJobContext extends BaseContext {
  readonly schedulers: SchedulerResolver;
  readonly ownerId: string;
  readonly annotator?: RunAnnotator;
  readonly health?: MetricsHealth;
  /** Reads a running run's progress when its stack offers no Prometheus (a direct, rate-limited scrape). */
  readonly progress?: ProgressReader;
  /** How often a running run with a metrics endpoint is looked at for its progress (default 15 s). */
  readonly progressIntervalMs?: number;
  /** Distributed runs whose replicas are not all running within this time are stopped (StartupTimeout). */
  readonly startupTimeoutMs: number;
  /** Resolves spec.env[].valueFrom; without it a job that references a secret is InvalidSpec. */
  readonly secrets?: { resolve(job: TrainingJob): Promise<ResolvedSecrets | undefined> };
  /** The TrainingQueues: a job naming one (spec.queue) is registered only once admitted. */
  readonly queues?: AdmissionGate;
  /** Git revision of the source, for status.lastAppliedRevision. */
  readonly revision: () => string | undefined;
}

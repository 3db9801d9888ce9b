// Ports the TrainingJob reconciler uses besides its scheduler: Grafana annotations for a run's life,
// and Consul's view of the health of the metrics endpoints Nomad registered. Both are optional (no
// Grafana or Consul configured) and neither may ever block or fail a run.
import type { Observable } from "rxjs";
import type { ResourceKey } from "../api/resources.ts";

export interface RunAnnotation {
  readonly key: ResourceKey;
  readonly runId: string;
  /** Epoch milliseconds. */
  readonly startTime: number;
  readonly text: string;
  /**
   * True when no scheduler job existed for this run before this reconcile submitted it: no
   * annotation can exist for it yet, so `started()` posts without searching.
   */
  readonly fresh?: boolean;
}

export interface RunAnnotator {
  /**
   * Ensures one region annotation for the run (tags `mlops-operator`, `<namespace>/<name>`,
   * `run:<runId>`); looks it up by tags before posting (unless the run is `fresh`), so a crash never
   * duplicates it. Returns its id.
   */
  started(run: RunAnnotation): Promise<number>;
  /**
   * Patches the region's end time, adds the outcome tag (and reason) to the text: by `id` when
   * known (one PATCH), else found by tags. Idempotent.
   */
  finished(
    run: RunAnnotation & {
      readonly id: number | undefined;
      readonly endTime: number;
      readonly outcome: "Succeeded" | "Failed";
      readonly reason?: string;
    },
  ): Promise<void>;
}

export type CheckStatus = "passing" | "warning" | "critical" | "maintenance";

export interface ServiceHealth {
  /** Worst status over the resource's registered instances. */
  readonly status: CheckStatus;
  readonly instances: number;
  /** Output of the first failing check, for the condition message. */
  readonly output: string;
}

export interface MetricsHealth {
  /** Latest known health of the services registered for a resource; undefined when none is known. */
  health(key: ResourceKey): ServiceHealth | undefined;
  /** Why health cannot be read now (ConsulUnavailable, Forbidden, ...); undefined when it can. */
  readonly lastError?: { readonly reason: string; readonly message: string } | undefined;
  /** Keys whose health changed (one blocking query for all the operator's services). */
  changes(): Observable<ResourceKey>;
  close(): Promise<void>;
}

/** A run's progress as its metrics report it (the slowest replica's; docs/progress.md). */
export interface RunProgress {
  /** mlops_training_progress_ratio, clamped to 0..1. */
  readonly ratio?: number;
  /** mlops_training_epoch. */
  readonly epoch?: number;
}

/** Where a run is, for a progress reader: its key and its replicas' metrics endpoints. */
export interface ProgressTarget {
  readonly key: ResourceKey;
  readonly namespace: string;
  readonly name: string;
  /** ip:port of each running replica's metrics endpoint. */
  readonly addresses: readonly string[];
  readonly path: string;
}

/** Reads a run's progress: from the stack's Prometheus, or by scraping its endpoints directly. */
export interface ProgressReader {
  /** undefined when the run reports no progress metric; throws when the source cannot be read. */
  read(target: ProgressTarget): Promise<RunProgress | undefined>;
}

/** Why a queued job is not admitted (docs/queues.md). */
export type QueueWaitReason = "WaitingForQuota" | "QuotaExceeded" | "QueueNotFound" | "Preempted";

export type AdmissionVerdict =
  | { readonly admitted: true }
  | {
      readonly admitted: false;
      readonly reason: Exclude<QueueWaitReason, "Preempted">;
      readonly message: string;
      /** 1 is the next run of the queue to be admitted; absent when it can never be. */
      readonly position?: number;
    };

/**
 * The TrainingQueues in front of the schedulers: a job naming a queue (spec.queue) registers its
 * run only once admitted. The job reconciler tells it what the scheduler reports: a registered run
 * holds its queue's quota; a finished, suspended or deleted one releases it (and wakes the queue).
 */
export interface AdmissionGate {
  /** True while the job's run holds quota (admitted by this process, or seen registered). */
  holds(key: ResourceKey): boolean;
  /** Asks for the job's admission now; admitted, the job holds quota from here on. */
  admit(job: QueuedJob, now: Date): AdmissionVerdict;
  /** The scheduler reports the job's run registered: it holds quota. */
  hold(job: QueuedJob): void;
  /** The job's run finished, was suspended or deleted: its quota is free for the next run. */
  release(key: ResourceKey): void;
  /** The job is gone (deleted, its run purged): its quota is released and nothing of it is kept. */
  forget(key: ResourceKey): void;
  /**
   * Why the job's admitted run is to be preempted (its queue chose it to make room for a run of
   * higher priority), or undefined. The job's reconciler stops the run, then calls preempted() once
   * the scheduler reports nothing of it running.
   */
  preempting(key: ResourceKey): { readonly by: ResourceKey; readonly message: string } | undefined;
  /** The job's run was stopped for preemption: its quota is free; the job waits to be admitted again. */
  preempted(key: ResourceKey): void;
}

/** What the gate reads of a job. */
export interface QueuedJob {
  readonly metadata: { readonly namespace: string; readonly name: string };
  readonly spec: {
    readonly queue?: string;
    readonly priority?: number;
    readonly replicas: number;
    readonly resources: { readonly gpus?: number; readonly cpu?: number; readonly memoryMB?: number };
  };
}

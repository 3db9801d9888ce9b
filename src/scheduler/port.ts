// The scheduler port: where a TrainingJob's run executes. Two implementations, Nomad
// (src/scheduler/nomad/) and the local Docker engine (src/scheduler/docker/); the TrainingJob
// reconciler never knows which one it holds. Every implementation reports into the same model
// (ObservedRun), from which src/trainingjob/status.ts derives phase and conditions.
import type { Observable } from "rxjs";
import type { TrainingJobSpec } from "../api/generated/types.ts";
import type { KeyParts, ResourceKey } from "../api/resources.ts";

export type SchedulerName = "nomad" | "docker";

/** One run of one TrainingJob, as the reconciler asks for it. */
export interface RunRequest {
  readonly key: KeyParts & { kind: "TrainingJob" };
  /** Tells this operator's objects from another's on the same Nomad or Docker engine. */
  readonly ownerId: string;
  /** New for every run: Nomad ignores re-registering an unchanged batch job. */
  readonly runId: string;
  /** metadata.generation when the run started. */
  readonly generation: number;
  /** Hash of the whole spec: a difference means an in-place update (suspend, deadline, TTL, priority). */
  readonly specHash: string;
  /** Hash of the run-defining fields: a difference means a new run. */
  readonly runSpecHash: string;
  readonly spec: TrainingJobSpec;
  /**
   * The attempt of the run (1, 2, …; default 1): every retry is a new allocation or container submitted
   * with the next number, seen by the trainer as MLOPS_ATTEMPT. In-place restarts are off.
   */
  readonly attempt?: number;
  /**
   * Values of the spec's env valueFrom references (env name → value), resolved just before submit.
   * They reach the run only through the scheduler's secret channel (a Nomad Variable read by a
   * template, a container's environment), never a rendered job spec. Absent in `plan`.
   */
  readonly secrets?: Readonly<Record<string, string>>;
}

export type ReplicaState = "pending" | "running" | "succeeded" | "failed";

/**
 * Why a replica failed, in the words every backend uses (Nomad's task events and the docker driver,
 * Docker's container state). Each one a run can fail with is a reason of the TrainingJob kind's table.
 */
export const FAILURE_REASONS = [
  "Error",
  "OOMKilled",
  "ImageNotFound",
  "DriverFailure",
  "DeadlineExceeded",
  "NodeLost",
  "InvalidTaskConfig",
  "SetupFailure",
  "ArtifactDownloadFailed",
  "SiblingTaskFailed",
  "CreateContainerError",
  "RunContainerError",
  "ContainerRemoved",
  "Stopped",
  "DaemonRestarted",
  "Preempted",
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** Why placement is blocked (from Nomad's FailedTGAllocs, or an engine that refuses the resources). */
export const BLOCKED_REASONS = [
  "Unschedulable",
  "MissingDevice",
  "MissingHostVolume",
  "InsufficientResources",
] as const;
export type BlockedReason = (typeof BLOCKED_REASONS)[number];

export interface ObservedReplica {
  readonly index: number;
  /** Allocation ID (Nomad) or container ID (Docker). */
  readonly id: string;
  readonly node?: string;
  /** "ip:port" of the replica's metrics endpoint as seen from its network (Prometheus scrapes it). */
  readonly address?: string;
  readonly state: ReplicaState;
  readonly exitCode?: number;
  readonly restarts: number;
  /** True when this replica will not be retried any more (restarts/reschedules used up). */
  readonly exhausted?: boolean;
  /** PascalCase reason: OOMKilled, ImageNotFound, Error, Completed, DeadlineExceeded, ... */
  readonly reason?: string;
  readonly message?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
}

/** What a scheduler reports about the job or containers named for one resource. */
export interface ObservedRun {
  /** The owner id found on the object; another operator's object is never changed. */
  readonly ownerId: string | undefined;
  readonly runId: string | undefined;
  readonly generation: number | undefined;
  readonly specHash: string | undefined;
  readonly runSpecHash: string | undefined;
  /** The attempt the scheduler's object carries (Nomad Meta, Docker label), when it carries one. */
  readonly attempt?: number;
  /** Stopped (by the operator for suspend/deadline/failure, or by hand). */
  readonly stopped: boolean;
  readonly replicas: readonly ObservedReplica[];
  /** Placement is blocked (no capacity, constraint filtered): Nomad's own reason. */
  readonly blocked?: { readonly reason: BlockedReason; readonly message: string };
  /** When the first replica started running. */
  readonly startTime?: string;
  /** The object as the scheduler holds it, for plan's field diff against render(). */
  readonly rendered?: unknown;
  /**
   * The object's version, kept in the run's status (`status.run.schedulerVersion`): given back to
   * observe, it lets a scheduler answer from one list of its objects while the object is still at
   * that version, instead of reading it (Nomad: its indexes, replica count and spec hash).
   */
  readonly version?: string;
}

/**
 * The run takes the resources it asked for, or will: a replica pending or running, or a registered
 * job not placed yet (Nomad keeps it in a blocked evaluation and places it as soon as capacity
 * frees). What a queue counts as holding quota.
 */
export function occupies(observed: ObservedRun | undefined): boolean {
  if (!observed) return false;
  if (!observed.stopped && observed.replicas.length === 0) return true;
  return observed.replicas.some((r) => r.state === "pending" || r.state === "running");
}

export interface LogOptions {
  readonly follow: boolean;
  readonly replica?: number;
  readonly signal?: AbortSignal;
}

export interface OwnedRun {
  readonly key: ResourceKey;
  readonly runId: string | undefined;
}

export interface Scheduler {
  readonly name: SchedulerName;
  /** Where runs go: a Nomad address or a Docker engine. */
  readonly target: string;
  /** Pure: the external object submit() would write for this run (Nomad job JSON, container specs). */
  render(run: RunRequest): unknown;
  /**
   * The current state for a resource; undefined when nothing by its name exists (or it was purged).
   * `recorded` is the version the run's status last recorded (ObservedRun.version), if any.
   */
  observe(key: RunRequest["key"], recorded?: string): Promise<ObservedRun | undefined>;
  /**
   * Creates the run, replaces a different run (new runId) or updates it in place (same runId).
   * Idempotent. Throws NotOwned when the object belongs to another owner id. Resolves to the
   * object's version after the write (ObservedRun.version), when the scheduler keeps versions.
   */
  submit(run: RunRequest): Promise<string | undefined>;
  /**
   * Stops every replica but keeps the record (suspend, deadline, failure of one replica).
   * Another owner's object under the key is left alone, without an error. Resolves to the object's
   * version after the stop, as submit does.
   */
  stop(key: RunRequest["key"], reason: string): Promise<string | undefined>;
  /**
   * Removes everything the resource owns here (deletion, TTL). Idempotent; 404 is success.
   * Another owner's object under the key is left alone, without an error.
   */
  purge(key: RunRequest["key"]): Promise<void>;
  /** Every object here that carries this operator's owner id (orphan cleanup after the first full read). */
  listOwned(ownerId: string): Promise<OwnedRun[]>;
  /** The run's output, line by line. */
  logs(key: RunRequest["key"], options: LogOptions): AsyncIterable<string>;
  /** Keys of resources whose objects changed outside (event stream): the controller requeues them. */
  changes(): Observable<ResourceKey>;
  /**
   * The keys of changes() whose run had a replica end (an allocation complete, failed or lost; a
   * container that died), while changes() is subscribed: the controller reconciles them before other
   * changes, as their reconcile records an outcome or frees queue quota for the next run.
   */
  endings?(): Observable<ResourceKey>;
  /** Optional placement preview (Nomad's plan API) for `mlopsctl plan`. */
  placement?(run: RunRequest): Promise<string | undefined>;
  close(): Promise<void>;
}

// observe (pure): what Docker holds for one TrainingJob → ObservedRun. Docker is the record: the
// labels say whose and which run, State says how each replica is doing, HostConfig.RestartPolicy
// says whether the operator stopped it (stop() sets a policy render() never uses, the stop marker).
import { isoTimeOf } from "../../api/iso-time.ts";
import { byCodeUnits } from "../../api/order.ts";
import { LABEL } from "../../clients/docker/labels.ts";
import type { BlockedReason, FailureReason, ObservedReplica, ObservedRun } from "../port.ts";
import type { EngineOutages } from "./outages.ts";
import { STOPPED_MARKER_POLICY } from "./render.ts";

/** The part of a container inspect this module reads (dockerode's ContainerInspectInfo fits). */
export interface InspectedContainer {
  readonly Id: string;
  readonly Name: string;
  readonly Created: string;
  readonly RestartCount: number;
  readonly State: {
    readonly Status: string;
    readonly Running: boolean;
    readonly Restarting: boolean;
    readonly OOMKilled: boolean;
    readonly ExitCode: number;
    readonly Error: string;
    readonly StartedAt: string;
    readonly FinishedAt: string;
  };
  readonly Config: { readonly Labels: Readonly<Record<string, string>> | null; readonly Image: string };
  readonly HostConfig: {
    readonly RestartPolicy?: { readonly Name?: string; readonly MaximumRetryCount?: number };
    readonly NanoCpus?: number;
    readonly Memory?: number;
  };
  readonly NetworkSettings?: {
    readonly IPAddress?: string;
    readonly Networks?: Readonly<Record<string, { readonly IPAddress?: string } | undefined>> | null;
  };
}

/** What the scheduler remembers beside Docker (lost on restart; Docker stays the record). */
export interface RunMemo {
  readonly runId: string;
  readonly generation: number;
  readonly specHash: string;
  readonly runSpecHash: string;
  readonly ownerId: string;
  readonly replicas: number;
  /** Containers could not be created: ImageNotFound, CreateContainerError (no container to hold it). */
  readonly failure?: { readonly reason: FailureReason; readonly message: string };
  /** Docker cannot place it at all (e.g. more CPUs than the host has). */
  readonly blocked?: { readonly reason: BlockedReason; readonly message: string };
  /** Why stop() was called (suspend, failed, DeadlineExceeded...), for the replicas' reason. */
  readonly stopReason?: string;
}

const labelsOf = (c: InspectedContainer): Readonly<Record<string, string>> => c.Config.Labels ?? {};

export function isStopMarked(c: InspectedContainer): boolean {
  return c.HostConfig.RestartPolicy?.Name === STOPPED_MARKER_POLICY.Name;
}

/** Exited non-zero although on-failure had retries left: Docker declined, so it was stopped (by hand). */
export function isStoppedByHand(c: InspectedContainer): boolean {
  const policy = c.HostConfig.RestartPolicy;
  const status = c.State.Status;
  if (status !== "exited" && status !== "dead") return false;
  if (c.State.ExitCode === 0 || policy?.Name !== "on-failure") return false;
  return c.RestartCount < (policy.MaximumRetryCount ?? 0);
}

export function replicaOf(
  c: InspectedContainer,
  index: number,
  stopReason: string | undefined,
  outages?: EngineOutages,
): ObservedReplica {
  const s = c.State;
  const startedAt = isoTimeOf(s.StartedAt);
  const base = {
    index,
    id: c.Id,
    restarts: c.RestartCount,
    ...(startedAt ? { startedAt } : {}),
  };
  const finishedAt = isoTimeOf(s.FinishedAt);
  const finished = finishedAt ? { finishedAt } : {};
  const exit = { exitCode: s.ExitCode };
  const stopped = { state: "failed", exhausted: false, reason: stopReason ?? "Stopped" } as const;
  switch (s.Status) {
    case "running": {
      const address = metricsAddress(c);
      return { ...base, ...(address ? { address } : {}), state: "running", reason: "Running" };
    }
    case "paused":
      return { ...base, state: "running", reason: "Paused" };
    case "restarting":
      return { ...base, ...exit, state: "running", reason: s.OOMKilled ? "OOMKilled" : "Restarting" };
    case "created":
      if (s.Error) {
        return {
          ...base,
          ...exit,
          state: "failed",
          exhausted: true,
          reason: "RunContainerError",
          message: s.Error,
        };
      }
      return isStopMarked(c) ? { ...base, ...stopped } : { ...base, state: "pending", reason: "Created" };
    case "removing":
      return { ...base, ...finished, ...exit, state: "failed", exhausted: false, reason: "ContainerRemoved" };
    default: // exited, dead
      if (isStopMarked(c)) return { ...base, ...finished, ...exit, ...stopped };
      if (s.ExitCode === 0) return { ...base, ...finished, ...exit, state: "succeeded", reason: "Completed" };
      if (isStoppedByHand(c)) return { ...base, ...finished, ...exit, ...stopped };
      return { ...base, ...finished, ...exit, state: "failed", exhausted: true, ...whyExited(s, outages) };
  }
}

/** Why a container exited non-zero on its own: the engine's restart, a memory kill, or its code. */
function whyExited(
  s: InspectedContainer["State"],
  outages: EngineOutages | undefined,
): { reason: FailureReason; message: string } {
  const outage = s.OOMKilled ? undefined : outages?.covering(isoTimeOf(s.FinishedAt));
  if (outage) {
    const from = new Date(outage.from).toISOString();
    const until =
      outage.to === undefined ? "is still away" : `was back at ${new Date(outage.to).toISOString()}`;
    return {
      reason: "DaemonRestarted",
      message: `exit code ${s.ExitCode} while the Docker engine was away (lost at ${from}, ${until}): stopped by the engine's restart`,
    };
  }
  if (s.OOMKilled)
    return { reason: "OOMKilled", message: s.Error || `killed for memory (exit code ${s.ExitCode})` };
  return { reason: "Error", message: s.Error || `exit code ${s.ExitCode}` };
}

/** The containers of the run observe() reports: this owner's newest run, else another owner's. */
export function currentRunContainers(
  containers: readonly InspectedContainer[],
  ownerId: string,
): InspectedContainer[] {
  if (containers.length === 0) return [];
  const ours = containers.filter((c) => labelsOf(c)[LABEL.ownerId] === ownerId);
  const pool = ours.length > 0 ? ours : containers;
  const newest = [...pool].sort((a, b) => byCodeUnits(b.Created, a.Created))[0] as InspectedContainer;
  const runId = labelsOf(newest)[LABEL.runId];
  const owner = labelsOf(newest)[LABEL.ownerId];
  return pool.filter((c) => labelsOf(c)[LABEL.runId] === runId && labelsOf(c)[LABEL.ownerId] === owner);
}

const intOf = (v: string | undefined): number | undefined => {
  const n = v === undefined ? Number.NaN : Number.parseInt(v, 10);
  return Number.isFinite(n) ? n : undefined;
};

export function observedFrom(
  containers: readonly InspectedContainer[],
  ownerId: string,
  memo: RunMemo | undefined,
  outages?: EngineOutages,
): ObservedRun | undefined {
  const run = currentRunContainers(containers, ownerId);
  if (run.length === 0) return memo && (memo.failure || memo.blocked) ? observedFromMemo(memo) : undefined;
  const labels = labelsOf(run[0] as InspectedContainer);
  const runId = labels[LABEL.runId];
  const memoOfRun = memo?.runId === runId ? memo : undefined;
  const count = intOf(labels[LABEL.replicas]) ?? run.length;
  const byIndex = new Map(run.map((c) => [intOf(labelsOf(c)[LABEL.replica]) ?? -1, c]));
  const replicas: ObservedReplica[] = [];
  for (let index = 0; index < count; index++) {
    const c = byIndex.get(index);
    replicas.push(
      c
        ? replicaOf(c, index, memoOfRun?.stopReason, outages)
        : {
            index,
            id: "",
            restarts: 0,
            state: "failed",
            exhausted: true,
            reason: "ContainerRemoved",
            message: `the container of replica ${index} was removed outside the operator`,
          },
    );
  }
  const active = replicas.some((r) => r.state === "running" || r.state === "pending");
  const halted = run.some((c) => isStopMarked(c) || isStoppedByHand(c)) || replicas.some((r) => r.id === "");
  const starts = replicas
    .map((r) => r.startedAt)
    .filter((t): t is string => t !== undefined)
    .sort();
  const owner = labels[LABEL.ownerId];
  return {
    ownerId: owner,
    runId,
    generation: intOf(labels[LABEL.generation]),
    specHash: memoOfRun && owner === ownerId ? memoOfRun.specHash : labels[LABEL.specHash],
    runSpecHash: labels[LABEL.runSpecHash],
    ...(intOf(labels[LABEL.attempt]) !== undefined
      ? { attempt: intOf(labels[LABEL.attempt]) as number }
      : {}),
    stopped: !active && halted,
    replicas,
    ...(starts[0] ? { startTime: starts[0] } : {}),
    rendered: run.map((c) => ({
      name: c.Name.replace(/^\//, ""),
      image: c.Config.Image,
      labels: labelsOf(c),
    })),
  };
}

function observedFromMemo(memo: RunMemo): ObservedRun {
  const replicas: ObservedReplica[] = [];
  if (memo.failure) {
    for (let index = 0; index < memo.replicas; index++) {
      replicas.push({ index, id: "", restarts: 0, state: "failed", exhausted: true, ...memo.failure });
    }
  }
  return {
    ownerId: memo.ownerId,
    runId: memo.runId,
    generation: memo.generation,
    specHash: memo.specHash,
    runSpecHash: memo.runSpecHash,
    // No container to stop: a run stopped (preempted, suspended) before Docker placed it is stopped.
    stopped: memo.stopReason !== undefined,
    replicas,
    ...(memo.blocked ? { blocked: memo.blocked } : {}),
  };
}

/** "ip:port" of a running replica's metrics endpoint on its network (for Prometheus HTTP SD). */
export function metricsAddress(c: InspectedContainer): string | undefined {
  const port = c.Config.Labels?.[LABEL.metricsPort];
  if (!port) return undefined;
  const networks = Object.values(c.NetworkSettings?.Networks ?? {});
  const ip = networks.find((n) => n?.IPAddress)?.IPAddress || c.NetworkSettings?.IPAddress;
  return ip ? `${ip}:${port}` : undefined;
}

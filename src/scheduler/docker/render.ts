// render: RunRequest → one container spec per replica (pure). What submit() creates, what `plan`
// prints, and what the labels later tell observe(): whose the container is, which run, which spec.
// Retries are the operator's (docs/retries.md): Docker never restarts a replica by itself (restart
// policy "no"), since a restarted container keeps its environment; each retry is a new container
// with the next MLOPS_ATTEMPT, and the attempt is in the labels, so it survives an operator restart.
import type { ContainerCreateOptions, HostConfig, MountSettings } from "dockerode";
import { trainingContainerName } from "../../api/names.ts";
import { makeKey } from "../../api/resources.ts";
import { LABEL, MANAGED_BY } from "../../clients/docker/labels.ts";
import { attemptEnv } from "../attempt-env.ts";
import type { RunRequest } from "../port.ts";

export interface RenderOptions {
  /** A user-defined network to join (a stack's network); default: Docker's bridge. */
  readonly network?: string;
  /** Labels added to every container (tests: mlops.dev/test=true); never override the operator's. */
  readonly extraLabels?: Readonly<Record<string, string>>;
  /** Seconds between SIGTERM and SIGKILL when a replica is stopped. */
  readonly stopTimeoutSeconds?: number;
  /** Run an init process as PID 1 (signals reach the trainer, zombies are reaped). Default true. */
  readonly init?: boolean;
}

export interface ContainerSpec {
  readonly name: string;
  readonly replica: number;
  readonly body: ContainerCreateOptions;
}

const MIB = 1024 * 1024;
/** Docker's NanoCpus: 1000 MHz (Nomad's unit in the spec) = one core = 1e9. */
export const nanoCpusOf = (mhz: number): number => mhz * 1_000_000;
export const bytesOfMiB = (mib: number): number => mib * MIB;

export interface RestartPolicy {
  readonly Name: string;
  readonly MaximumRetryCount: number;
}

/** Never restarted in place: the operator submits the next attempt as a new container. */
export function restartPolicyFor(): RestartPolicy {
  return { Name: "no", MaximumRetryCount: 0 };
}

/** The restart policy the operator sets on a replica it stopped (never rendered): its stop marker. */
export const STOPPED_MARKER_POLICY: RestartPolicy = { Name: "unless-stopped", MaximumRetryCount: 0 };

export function labelsFor(
  run: RunRequest,
  replica: number,
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const labels: Record<string, string> = {
    ...extra,
    [LABEL.managedBy]: MANAGED_BY,
    [LABEL.ownerId]: run.ownerId,
    [LABEL.key]: makeKey("TrainingJob", run.key.namespace, run.key.name),
    [LABEL.generation]: String(run.generation),
    [LABEL.runId]: run.runId,
    [LABEL.specHash]: run.specHash,
    [LABEL.runSpecHash]: run.runSpecHash,
    [LABEL.attempt]: String(run.attempt ?? 1),
    [LABEL.replica]: String(replica),
    [LABEL.replicas]: String(run.spec.replicas),
    [LABEL.backoffLimit]: String(run.spec.backoffLimit),
  };
  if (run.spec.metrics) {
    labels[LABEL.metricsPort] = String(run.spec.metrics.port);
    labels[LABEL.metricsPath] = run.spec.metrics.path;
  }
  return labels;
}

function mountsOf(run: RunRequest): MountSettings[] {
  return (run.spec.volumes ?? []).map((v) =>
    v.hostPath !== undefined
      ? { Type: "bind", Source: v.hostPath, Target: v.mountPath, ReadOnly: v.readOnly }
      : { Type: "volume", Source: v.name ?? "", Target: v.mountPath, ReadOnly: v.readOnly },
  );
}

export function renderRun(run: RunRequest, options: RenderOptions = {}): ContainerSpec[] {
  const { spec } = run;
  const userEnv = (spec.env ?? [])
    .filter((e) => e.name !== "WORLD_SIZE" && e.name !== "RANK")
    .flatMap((e) => {
      // A referenced value comes from run.secrets (resolved at submit); `plan` renders without it.
      const value = e.valueFrom ? run.secrets?.[e.name] : (e.value ?? "");
      return value === undefined ? [] : [`${e.name}=${value}`];
    });
  const attempt = Object.entries(attemptEnv(run)).map(([name, value]) => `${name}=${value}`);
  const specs: ContainerSpec[] = [];
  for (let replica = 0; replica < spec.replicas; replica++) {
    const hostConfig: HostConfig = {
      NanoCpus: nanoCpusOf(spec.resources.cpu),
      Memory: bytesOfMiB(spec.resources.memoryMB),
      MemorySwap: bytesOfMiB(spec.resources.memoryMB),
      RestartPolicy: restartPolicyFor(),
      Init: options.init ?? true,
    };
    if (spec.shmSizeMB !== undefined) hostConfig.ShmSize = bytesOfMiB(spec.shmSizeMB);
    const mounts = mountsOf(run);
    if (mounts.length > 0) hostConfig.Mounts = mounts;
    if (spec.resources.gpus > 0) {
      hostConfig.DeviceRequests = [{ Driver: "nvidia", Count: spec.resources.gpus, Capabilities: [["gpu"]] }];
    }
    if (options.network) hostConfig.NetworkMode = options.network;
    const body: ContainerCreateOptions = {
      Image: spec.image,
      Env: [...userEnv, ...attempt, `WORLD_SIZE=${spec.replicas}`, `RANK=${replica}`],
      Labels: labelsFor(run, replica, options.extraLabels),
      StopTimeout: options.stopTimeoutSeconds ?? 10,
      HostConfig: hostConfig,
    };
    if (spec.command !== undefined) body.Entrypoint = [...spec.command];
    if (spec.args !== undefined) body.Cmd = [...spec.args];
    if (spec.metrics) body.ExposedPorts = { [`${spec.metrics.port}/tcp`]: {} };
    if (options.network) body.NetworkingConfig = { EndpointsConfig: { [options.network]: {} } };
    specs.push({
      name: trainingContainerName(run.key.namespace, run.key.name, replica),
      replica,
      body,
    });
  }
  return specs;
}

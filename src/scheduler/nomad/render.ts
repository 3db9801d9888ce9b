// RunRequest → Nomad job JSON, as the HTTP API takes it (pure). Durations are integer nanoseconds.
//
// Retries (also in docs/retries.md): the operator owns attempts. Nomad never restarts or reschedules
// a task by itself (RestartPolicy {Attempts: 0, Mode: "fail"}, ReschedulePolicy {Attempts: 0,
// Unlimited: false}): a failed or lost allocation ends the attempt, and the operator registers the
// job again with the next MLOPS_ATTEMPT (Meta and Env change: a destructive update, so new
// allocations, placed wherever Nomad finds room) while backoffLimit or retryPolicy.infraRetryLimit
// allows; otherwise it stops the whole job and the run fails.
import { consulServiceName, nomadJobId, nomadNamespace } from "../../api/names.ts";
import type { TrainingJobSpec } from "../../api/resources.ts";
import type {
  NomadConstraint,
  NomadJob,
  NomadNetwork,
  NomadService,
  NomadTask,
  NomadTaskGroup,
  NomadTemplate,
} from "../../clients/nomad/types.ts";
import { SECOND } from "../../clients/nomad/types.ts";
import { attemptEnv } from "../attempt-env.ts";
import type { RunRequest } from "../port.ts";
import { MANAGED_BY, META, specHashConstraint } from "./meta.ts";

export const GROUP = "train";
export const TASK = "main";
export const METRICS_PORT = "metrics";
const DAY = 24 * 3600 * SECOND;

export interface RenderOptions {
  /** Docker network for training containers (a stack's `mlops-network`): network_mode + driver addresses. */
  network?: string;
  /** Render max_run_duration (Nomad ≥ 2.0.3) for activeDeadlineSeconds. */
  maxRunDuration?: boolean;
  /** Version the registration will create (current Version + 1, or 0 for a new job). */
  runVersion?: number;
}

export function renderJob(run: RunRequest, options: RenderOptions = {}): NomadJob {
  const { spec, key } = run;
  const id = nomadJobId(key.name);
  const named = (spec.volumes ?? []).filter((v): v is typeof v & { name: string } => Boolean(v.name));
  const group: NomadTaskGroup = {
    Name: GROUP,
    Count: spec.replicas,
    RestartPolicy: { Attempts: 0, Interval: DAY, Delay: 15 * SECOND, Mode: "fail" },
    ReschedulePolicy: {
      Attempts: 0,
      Interval: DAY,
      Delay: 5 * SECOND,
      DelayFunction: "constant",
      MaxDelay: 0,
      Unlimited: false,
    },
    Tasks: [renderTask(run, options)],
    ...(spec.metrics ? { Networks: [renderNetwork(spec.metrics.port)] } : {}),
    ...(named.length > 0
      ? {
          Volumes: Object.fromEntries(
            named.map((v) => [v.name, { Name: v.name, Type: "host", Source: v.name, ReadOnly: v.readOnly }]),
          ),
        }
      : {}),
    ...(options.maxRunDuration && spec.activeDeadlineSeconds
      ? { MaxRunDuration: spec.activeDeadlineSeconds * SECOND }
      : {}),
  };
  return {
    ID: id,
    Name: id,
    Namespace: nomadNamespace(key.namespace),
    Type: "batch",
    Priority: spec.priority,
    Datacenters: spec.datacenters?.length ? [...spec.datacenters] : ["*"],
    ...(spec.nodePool ? { NodePool: spec.nodePool } : {}),
    Constraints: [...(spec.constraints ?? []).map(renderConstraint), specHashConstraint(run.specHash)],
    Meta: {
      [META.managedBy]: MANAGED_BY,
      [META.ownerId]: run.ownerId,
      [META.key]: `${key.kind}/${key.namespace}/${key.name}`,
      [META.generation]: String(run.generation),
      [META.runId]: run.runId,
      [META.runSpecHash]: run.runSpecHash,
      [META.attempt]: String(run.attempt ?? 1),
      [META.runVersion]: String(options.runVersion ?? 0),
    },
    TaskGroups: [group],
  };
}

export function renderConstraint(c: NonNullable<TrainingJobSpec["constraints"]>[number]): NomadConstraint {
  switch (c.operator) {
    case "distinct_hosts":
      return { LTarget: "", RTarget: c.value ?? "true", Operand: "distinct_hosts" };
    case "distinct_property":
      return { LTarget: c.attribute, RTarget: c.value ?? "", Operand: "distinct_property" };
    case "is_set":
    case "is_not_set":
      return { LTarget: c.attribute, RTarget: "", Operand: c.operator };
    default:
      return { LTarget: c.attribute, RTarget: c.value ?? "", Operand: c.operator };
  }
}

function renderTask(run: RunRequest, options: RenderOptions): NomadTask {
  const { spec } = run;
  const config: Record<string, unknown> = { image: spec.image };
  if (spec.command?.length) config.entrypoint = [...spec.command];
  if (spec.args?.length) config.args = [...spec.args];
  if (spec.shmSizeMB) config.shm_size = spec.shmSizeMB * 1024 * 1024;
  if (options.network) config.network_mode = options.network;
  else if (spec.metrics) config.ports = [METRICS_PORT];
  const binds = (spec.volumes ?? []).filter((v) => v.hostPath);
  if (binds.length > 0) {
    config.mount = binds.map((v) => ({
      type: "bind",
      source: v.hostPath,
      target: v.mountPath,
      readonly: v.readOnly,
    }));
  }
  const env: Record<string, string> = {};
  for (const e of spec.env ?? []) if (!e.valueFrom) env[e.name] = e.value ?? "";
  const templates = secretTemplates(run);
  Object.assign(env, attemptEnv(run));
  env.WORLD_SIZE = String(spec.replicas);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Nomad interpolates it per allocation.
  env.RANK = "${NOMAD_ALLOC_INDEX}";
  const named = (spec.volumes ?? []).filter((v) => v.name);
  const task: NomadTask = {
    Name: TASK,
    Driver: "docker",
    Config: config,
    Env: env,
    Resources: {
      CPU: spec.resources.cpu,
      MemoryMB: spec.resources.memoryMB,
      ...(spec.resources.gpus > 0 ? { Devices: [{ Name: "nvidia/gpu", Count: spec.resources.gpus }] } : {}),
    },
    ...(spec.metrics ? { Services: [renderService(run, options)] } : {}),
    ...(templates.length > 0 ? { Templates: templates } : {}),
    ...(named.length > 0
      ? {
          VolumeMounts: named.map((v) => ({
            Volume: v.name ?? "",
            Destination: v.mountPath,
            ReadOnly: v.readOnly,
          })),
        }
      : {}),
  };
  return task;
}

/** Where a job's referenced values are kept: the path its workload identity may read by default. */
export function secretVariablePath(jobId: string): string {
  return `nomad/jobs/${jobId}`;
}

/**
 * The env valueFrom names, read from the job's Nomad Variable by a template rendered into the task's
 * environment (env = true). Values are JSON-quoted (NomadVarItem marshals as a quoted string), so a
 * newline or quote in a value stays inside it. change_mode noop: a rewritten Variable never restarts
 * a running task; a changed secret starts a new run only with restartOnSecretChange.
 */
function secretTemplates(run: RunRequest): NomadTemplate[] {
  const names = (run.spec.env ?? []).filter((e) => e.valueFrom).map((e) => e.name);
  if (names.length === 0) return [];
  const lines = names.map((name) => `${name}={{ .${name} | toJSON }}\n`).join("");
  const path = secretVariablePath(nomadJobId(run.key.name));
  return [
    {
      EmbeddedTmpl: `{{ with nomadVar "${path}" }}${lines}{{ end }}`,
      DestPath: "secrets/mlops-env.env",
      Envvars: true,
      ChangeMode: "noop",
    },
  ];
}

/**
 * A dynamic host port mapped to the container's metrics port. On a Docker network the service uses
 * address_mode "driver" (container IP and `To`); on the host, the client's address and the host port.
 */
function renderNetwork(port: number): NomadNetwork {
  return { Mode: "host", DynamicPorts: [{ Label: METRICS_PORT, To: port }] };
}

function renderService(run: RunRequest, options: RenderOptions): NomadService {
  const { key, spec } = run;
  const path = spec.metrics?.path ?? "/metrics";
  const addressMode = options.network ? "driver" : "host";
  return {
    Name: consulServiceName(key.namespace, key.name),
    Provider: "consul",
    PortLabel: METRICS_PORT,
    AddressMode: addressMode,
    Tags: [MANAGED_BY, "prometheus", `mlops-namespace-${key.namespace}`, `run-${run.runId}`],
    Meta: {
      metrics_path: path,
      mlops_namespace: key.namespace,
      mlops_name: key.name,
      mlops_run: run.runId,
    },
    Checks: [
      {
        Name: "metrics",
        Type: "http",
        Path: path,
        PortLabel: METRICS_PORT,
        AddressMode: addressMode,
        Interval: 10 * SECOND,
        Timeout: 2 * SECOND,
      },
    ],
  };
}

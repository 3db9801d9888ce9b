// Rules one schema cannot express, shared by every source and reported like schema errors.
import type { SpecIssue } from "./errors.ts";
import type { MlopsStackSpec, TrainingJobSpec, TrainingQueueSpec } from "./generated/types.ts";
import { STACK_COMPONENTS } from "./names.ts";

const NEEDS_NO_VALUE = new Set(["is_set", "is_not_set", "distinct_hosts"]);
/** Set by the operator in every attempt's environment. */
const OPERATOR_ENV = new Set(["WORLD_SIZE", "RANK", "MLOPS_RUN_ID", "MLOPS_ATTEMPT", "MLOPS_CHECKPOINT_DIR"]);

export function trainingJobIssues(spec: TrainingJobSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const seen = new Map<string, number>();
  spec.env?.forEach((env, i) => {
    const first = seen.get(env.name);
    if (first !== undefined) {
      issues.push({
        path: ["spec", "env", i, "name"],
        message: `duplicates spec.env[${first}].name "${env.name}"`,
      });
    } else seen.set(env.name, i);
    if (OPERATOR_ENV.has(env.name)) {
      issues.push({ path: ["spec", "env", i, "name"], message: `${env.name} is set by the operator` });
    }
    issues.push(...valueFromIssues(env, i));
  });
  const mounts = new Map<string, number>();
  let checkpoint: number | undefined;
  spec.volumes?.forEach((volume, i) => {
    if (volume.checkpoint === true) {
      if (checkpoint !== undefined) {
        issues.push({
          path: ["spec", "volumes", i, "checkpoint"],
          message: `spec.volumes[${checkpoint}] is already the checkpoint volume (at most one)`,
        });
      } else checkpoint = i;
      if (volume.readOnly) {
        issues.push({
          path: ["spec", "volumes", i, "readOnly"],
          message: "a checkpoint volume must be writable",
        });
      }
    }
    if ((volume.name === undefined) === (volume.hostPath === undefined)) {
      issues.push({ path: ["spec", "volumes", i], message: "needs exactly one of name or hostPath" });
    }
    if (volume.hostPath?.split("/").includes("..")) {
      issues.push({ path: ["spec", "volumes", i, "hostPath"], message: "must not contain '..'" });
    }
    if (volume.mountPath.split("/").includes("..")) {
      issues.push({ path: ["spec", "volumes", i, "mountPath"], message: "must not contain '..'" });
    }
    const first = mounts.get(volume.mountPath);
    if (first !== undefined) {
      issues.push({
        path: ["spec", "volumes", i, "mountPath"],
        message: `duplicates spec.volumes[${first}].mountPath`,
      });
    } else mounts.set(volume.mountPath, i);
  });
  spec.constraints?.forEach((constraint, i) => {
    if (!NEEDS_NO_VALUE.has(constraint.operator) && constraint.value === undefined) {
      issues.push({
        path: ["spec", "constraints", i, "value"],
        message: `is required for operator "${constraint.operator}"`,
      });
    }
  });
  issues.push(...retryPolicyIssues(spec.retryPolicy));
  return issues;
}

/**
 * A backoff whose longest wait is shorter than its first. (An exit code in both exit-code lists stays
 * valid, as it always was: failOnExitCodes wins, docs/retries.md; refusing it now would turn
 * documents that validated into InvalidSpec on an upgrade.)
 */
function retryPolicyIssues(policy: TrainingJobSpec["retryPolicy"]): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const backoff = policy?.backoff;
  if (backoff && backoff.maxDelaySeconds < backoff.delaySeconds)
    issues.push({
      path: ["spec", "retryPolicy", "backoff", "maxDelaySeconds"],
      message: `must be ≥ delaySeconds (${backoff.delaySeconds}; maxDelaySeconds defaults to 360)`,
    });
  return issues;
}

type EnvVar = NonNullable<TrainingJobSpec["env"]>[number];

/** value and valueFrom exclude each other; valueFrom names exactly one source; files stay relative. */
function valueFromIssues(env: EnvVar, i: number): SpecIssue[] {
  const from = env.valueFrom;
  if (!from) return [];
  const at = ["spec", "env", i, "valueFrom"] as const;
  const issues: SpecIssue[] = [];
  if (env.value !== undefined) {
    issues.push({ path: ["spec", "env", i], message: "value and valueFrom are mutually exclusive" });
  }
  if ((from.file === undefined) === (from.secretKeyRef === undefined)) {
    issues.push({ path: [...at], message: "needs exactly one of file or secretKeyRef" });
  }
  const path = from.file?.path;
  if (path !== undefined && (path.startsWith("/") || path.split(/[\\/]/).includes(".."))) {
    issues.push({
      path: [...at, "file", "path"],
      message: "must be relative to the operator's --secrets-dir, without '..'",
    });
  }
  return issues;
}

/** A borrowing limit without a cohort would never apply: a queue borrows only within its cohort (Kueue rejects it too). */
export function trainingQueueIssues(spec: TrainingQueueSpec | undefined): SpecIssue[] {
  if (spec?.borrowingLimit === undefined || spec.cohort !== undefined) return [];
  return [
    {
      path: ["spec", "borrowingLimit"],
      message: "needs spec.cohort: a queue borrows only from the other queues of its cohort",
    },
  ];
}

export function mlopsStackIssues(spec: MlopsStackSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const subnet = parseCidr(spec.network.subnet);
  if (!subnet) {
    return [
      { path: ["spec", "network", "subnet"], message: `"${spec.network.subnet}" is not a valid IPv4 CIDR` },
    ];
  }
  if ((subnet.base & subnet.mask) >>> 0 !== subnet.base) {
    issues.push({
      path: ["spec", "network", "subnet"],
      message: `host bits are set: did you mean ${formatIp((subnet.base & subnet.mask) >>> 0)}/${subnet.bits}?`,
    });
  }
  const network = (subnet.base & subnet.mask) >>> 0;
  const broadcast = (network | (~subnet.mask >>> 0)) >>> 0;
  const gateway = network + 1;
  const ips = new Map<number, string>();
  const hostPorts = new Map<number, string>();
  for (const component of STACK_COMPONENTS) {
    const c = spec[component];
    if (!c.enabled) continue;
    const ip = parseIp(c.ip);
    const where = ["spec", component, "ip"];
    if (ip === undefined) {
      issues.push({ path: where, message: `"${c.ip}" is not an IPv4 address` });
    } else if ((ip & subnet.mask) >>> 0 !== network) {
      issues.push({ path: where, message: `${c.ip} is outside spec.network.subnet ${spec.network.subnet}` });
    } else if (ip === network || ip === broadcast || ip === gateway) {
      const what = ip === network ? "network" : ip === broadcast ? "broadcast" : "gateway";
      issues.push({ path: where, message: `${c.ip} is the subnet's ${what} address` });
    } else {
      const other = ips.get(ip);
      if (other) issues.push({ path: where, message: `${c.ip} is already spec.${other}.ip` });
      else ips.set(ip, component);
    }
    const hostPort = c.hostPort ?? c.port;
    if (hostPort !== 0) {
      const other = hostPorts.get(hostPort);
      if (other) {
        issues.push({
          path: ["spec", component, "hostPort"],
          message: `${hostPort} is already published by spec.${other}`,
        });
      } else hostPorts.set(hostPort, component);
    }
  }
  issues.push(...nomadHostVolumeIssues(spec.nomad.hostVolumes));
  return issues;
}

/** Host volume names are unique (Nomad keys them by name); paths are plain absolute directories. */
function nomadHostVolumeIssues(volumes: MlopsStackSpec["nomad"]["hostVolumes"]): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const names = new Map<string, number>();
  volumes.forEach((volume, i) => {
    const first = names.get(volume.name);
    if (first !== undefined) {
      issues.push({
        path: ["spec", "nomad", "hostVolumes", i, "name"],
        message: `duplicates spec.nomad.hostVolumes[${first}].name "${volume.name}"`,
      });
    } else names.set(volume.name, i);
    if (volume.path.split("/").includes("..")) {
      issues.push({ path: ["spec", "nomad", "hostVolumes", i, "path"], message: "must not contain '..'" });
    } else if (volume.path.replace(/\/+$/, "") === "") {
      issues.push({
        path: ["spec", "nomad", "hostVolumes", i, "path"],
        message: "must not be the root directory",
      });
    }
  });
  return issues;
}

export interface Cidr {
  base: number;
  bits: number;
  mask: number;
}

export function parseCidr(text: string): Cidr | undefined {
  const [address, bitsText] = text.split("/");
  const base = address === undefined ? undefined : parseIp(address);
  const bits = Number(bitsText);
  if (base === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return undefined;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { base, bits, mask };
}

export function parseIp(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let out = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    out = out * 256 + Number(part);
  }
  return out >>> 0;
}

export function formatIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join(".");
}

/** The gateway Docker gives a user-defined network: the first host of the subnet. */
export function gatewayOf(subnet: string): string | undefined {
  const cidr = parseCidr(subnet);
  return cidr ? formatIp((((cidr.base & cidr.mask) >>> 0) + 1) >>> 0) : undefined;
}

// What an MlopsStack is made of on Docker, as plain data: the desired objects render() derives from
// the spec, and the observed objects the reconciler reads back (docker inspect). diff() and status()
// work on these only.
import type { StackComponent } from "../api/names.ts";

export { MANAGED_BY } from "../api/names.ts";
export const LABELS = {
  managedBy: "mlops.dev/managed-by",
  ownerId: "mlops.dev/owner-id",
  stack: "mlops.dev/stack",
  /** The resource key, as every object the operator owns carries it (src/clients/docker/labels.ts). */
  key: "mlops.dev/key",
  component: "mlops.dev/component",
  specHash: "mlops.dev/spec-hash",
} as const;

/** Readiness order: a tier starts once every enabled component of the earlier tiers is healthy. */
export const TIERS: readonly (readonly StackComponent[])[] = [
  ["consul"],
  ["nomad"],
  ["prometheus", "grafana"],
];

export function tierOf(component: StackComponent): number {
  return TIERS.findIndex((tier) => tier.includes(component));
}

export interface ConfigFile {
  /** Absolute path inside the container. */
  readonly path: string;
  readonly content: string;
  readonly mode: number;
  /** Kept out of the spec hash and of plans printed to people (the Grafana admin password). */
  readonly secret?: boolean;
}

export interface HealthCheck {
  readonly test: readonly string[];
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly startPeriodMs: number;
}

export interface Mount {
  readonly type: "volume" | "bind";
  readonly source: string;
  readonly target: string;
  readonly readOnly?: boolean;
}

export interface DesiredContainer {
  readonly component: StackComponent;
  readonly name: string;
  readonly image: string;
  readonly ip: string;
  readonly port: number;
  /** 0: not published. */
  readonly hostPort: number;
  /** "uid:gid", numeric so that config files can be owned by it in the archive. */
  readonly user: string;
  readonly cmd: readonly string[];
  readonly env: readonly string[];
  readonly health: HealthCheck;
  readonly mounts: readonly Mount[];
  readonly privileged: boolean;
  /** Capabilities added when not privileged (Nomad on engines that refuse privileged containers). */
  readonly capAdd?: readonly string[];
  /** Docker runtime (HostConfig.Runtime): the NVIDIA container runtime for Nomad with GPUs. */
  readonly runtime?: string;
  /** "host" for Nomad (host cgroups); private otherwise. */
  readonly cgroupns?: "host";
  readonly files: readonly ConfigFile[];
  readonly labels: Readonly<Record<string, string>>;
  /** Hash of everything above but labels and secrets: a change replaces this container only. */
  readonly specHash: string;
}

export interface DesiredNetwork {
  readonly name: string;
  readonly subnet: string;
  readonly gateway: string;
  /**
   * Where Docker hands out dynamic addresses (training containers): the upper half of the subnet
   * when no component's fixed IP lies in it, so a container started while a component is being
   * recreated can never take that component's IP.
   */
  readonly ipRange?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly specHash: string;
}

export interface DesiredVolume {
  readonly component: StackComponent;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface DesiredStack {
  readonly key: string;
  readonly network: DesiredNetwork;
  readonly volumes: readonly DesiredVolume[];
  /** Enabled components, in readiness order. */
  readonly containers: readonly DesiredContainer[];
  /** Disabled components: their owned containers are removed. */
  readonly disabled: readonly StackComponent[];
}

export interface ObservedNetwork {
  readonly id: string;
  readonly name: string;
  readonly subnet: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  /** Containers attached (ids). */
  readonly containers: readonly string[];
}

export type ContainerState = "created" | "running" | "paused" | "restarting" | "removing" | "exited" | "dead";
export type Health = "healthy" | "unhealthy" | "starting" | "none";

export interface ObservedContainer {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly state: ContainerState;
  readonly health: Health;
  /** IP on the stack's network, when attached. */
  readonly ip: string | undefined;
  readonly exitCode?: number;
}

export interface ObservedVolume {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface ObservedStack {
  readonly network: ObservedNetwork | undefined;
  readonly containers: Partial<Record<StackComponent, ObservedContainer>>;
  readonly volumes: Partial<Record<StackComponent, ObservedVolume>>;
}

/** Does a Docker object carry this operator's owner id and this stack's key? */
export function ownedBy(labels: Readonly<Record<string, string>>, ownerId: string, key: string): boolean {
  return labels[LABELS.ownerId] === ownerId && labels[LABELS.stack] === key;
}

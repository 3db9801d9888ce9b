// What the MlopsStack reconciler gets through its one door to the world: the Docker engine, the
// stack's secrets, the files shipped with the operator, and the settings every stack is rendered with.
import type { BaseContext } from "../controller/reconcile.ts";
import type { StackAssets } from "./assets.ts";
import type { StackDocker } from "./docker.ts";

/** The generated credentials of a stack, kept outside Docker (the operator's state directory). */
export interface StackSecrets {
  /** The stack's Grafana admin password, generated on first use and the same ever after. */
  grafanaAdminPassword(namespace: string, name: string): Promise<string>;
}

export interface StackContext extends BaseContext {
  readonly docker: StackDocker;
  readonly secrets: StackSecrets;
  /** Dashboards and alert rules copied into every stack. */
  readonly assets: StackAssets;
  /** Labels every Docker object of this operator's stacks, and marks what it may change or remove. */
  readonly ownerId: string;
  /** Port of the operator's HTTP server (/metrics, /sd/prometheus), listening on the network's gateway. */
  readonly operatorPort: number;
  /** Host path of the Docker socket given to Nomad (default /var/run/docker.sock). */
  readonly dockerSocket?: string;
  /** One pull attempt of a missing image, bounded by this (default 5 s), then ImageNotFound. */
  readonly pullTimeoutMs?: number;
  /** How soon to look again while components start (default 1 s; health checks run every second). */
  readonly progressRequeueMs?: number;
  /** How soon to look again after a failed step (default 10 s). */
  readonly failureRequeueMs?: number;
  /** Extra labels on every Docker object of every stack (tests mark theirs); never in the hash. */
  readonly extraLabels?: Readonly<Record<string, string>>;
}

// Drives the MlopsStack reconciler against the real Docker engine the way the controller runtime
// would (reconcile, honour the returned Action, wake on changes()), with a recording context and a
// Docker port that counts writes. Shared by test/integration/stack-*.test.ts, test/e2e and bench/.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subscription } from "rxjs";
import type { AnyResource, Kind, MlopsStack, ResourceKey, StatusOf } from "../../src/api/resources.ts";
import { validateDocument } from "../../src/api/validate.ts";
import { type ConnectedDocker, connectDocker, dockerEvents } from "../../src/clients/docker/index.ts";
import type { Action, EventType } from "../../src/controller/reconcile.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { loadStackAssets } from "../../src/stack/assets.ts";
import type { StackContext } from "../../src/stack/context.ts";
import { type StackDocker, stackDocker } from "../../src/stack/docker.ts";
import { StackReconciler } from "../../src/stack/reconciler.ts";
import { stateDirSecrets } from "../../src/stack/secrets.ts";
import { stackEventFilters } from "../../src/stack/watch.ts";

export const TEST_LABEL = "mlops.dev/test";

export const LOCAL_IMAGES = {
  consul: "mlops-operator/consul-standin:dev",
  nomad: "mlops-operator/nomad-standin:dev",
  prometheus: "mlops-operator/prometheus:dev",
  grafana: "mlops-operator/grafana-standin:dev",
} as const;

const WRITES = new Set([
  "createNetwork",
  "removeNetwork",
  "createVolume",
  "removeVolume",
  "createContainer",
  "copyArchive",
  "startContainer",
  "removeContainer",
  "pullImage",
]);

/** Wraps a Docker port, counting the calls that change the engine. */
export function countingDocker(inner: StackDocker): StackDocker & { writes: string[] } {
  const writes: string[] = [];
  const out = { writes } as unknown as StackDocker & { writes: string[] };
  for (const name of Object.keys(inner) as (keyof StackDocker)[]) {
    const fn = inner[name] as (...args: unknown[]) => Promise<unknown>;
    (out as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      if (WRITES.has(name)) writes.push(name);
      return fn(...args);
    };
  }
  return out;
}

export function stackResource(
  name: string,
  spec: Record<string, unknown>,
  namespace = "default",
): MlopsStack {
  const result = validateDocument({
    apiVersion: "mlops.dev/v1alpha1",
    kind: "MlopsStack",
    metadata: { name, namespace, generation: 1 },
    spec,
  });
  if (!result.ok) throw new Error(`invalid test stack: ${JSON.stringify(result.issues)}`);
  return result.resource as MlopsStack;
}

export interface Harness {
  readonly conn: ConnectedDocker;
  readonly docker: StackDocker & { writes: string[] };
  readonly reconciler: StackReconciler;
  readonly ctx: StackContext;
  readonly statuses: Map<ResourceKey, unknown>;
  readonly events: { key: ResourceKey; type: EventType; reason: string; message: string }[];
  /** Resources the index answers (TrainingJobs naming a stack, for DependentsExist). */
  readonly resources: Map<ResourceKey, AnyResource>;
  /** Keys changes() emitted, in order. */
  readonly woken: ResourceKey[];
  statusOf(stack: MlopsStack): StatusOf<MlopsStack> | undefined;
  /** One reconcile with the last written status carried in, as a source would. */
  reconcile(stack: MlopsStack): Promise<Action>;
  /** Reconciles until `done(status)` or the deadline; requeues are honoured (at most 500 ms apart). */
  converge(
    stack: MlopsStack,
    done: (s: StatusOf<MlopsStack>) => boolean,
    timeoutMs?: number,
  ): Promise<number>;
  /** Resolves when changes() emits `key` (or rejects after timeoutMs). */
  nextChange(key: ResourceKey, timeoutMs?: number): Promise<number>;
  /**
   * Runs the reconciler as the controller would: on every changes() key for the stack and when the
   * returned requeue is due, one reconcile at a time (a change during a reconcile runs one more).
   */
  drive(stack: () => MlopsStack): { stop(): void; readonly reconciles: number };
  close(): void;
}

/**
 * Can this engine start a privileged root container? A sandboxed dockerd whose own bounding set
 * lacks a capability cannot ("unable to apply caps"); MLOPS_STACK_NOMAD_PRIVILEGED=0/1 forces it.
 */
export async function privilegedAllowed(conn: ConnectedDocker, suite = "stack"): Promise<boolean> {
  const forced = process.env.MLOPS_STACK_NOMAD_PRIVILEGED;
  if (forced !== undefined) return forced !== "0";
  const image = process.env.MLOPS_E2E_OFFICIAL_IMAGES === "1" ? undefined : LOCAL_IMAGES.nomad;
  if (image === undefined) return true; // official images: Nomad privileged, as a Nomad client in Docker needs
  const probe = await conn.docker.createContainer({
    Image: image,
    Entrypoint: ["/bin/true"],
    User: "0:0",
    Labels: { [TEST_LABEL]: "true", "mlops.dev/test-suite": suite },
    HostConfig: { Privileged: true },
  });
  try {
    await probe.start();
    return true;
  } catch {
    return false;
  } finally {
    await probe.remove({ force: true });
  }
}

export async function createHarness(options: {
  ownerId: string;
  operatorPort?: number;
  stateDir?: string;
  /** Value of mlops.dev/test-suite on everything created: what cleanupDocker(conn, suite) removes. */
  suite?: string;
}): Promise<Harness & { privileged: boolean }> {
  const conn = await connectDocker();
  const suite = options.suite ?? "stack";
  const privileged = await privilegedAllowed(conn, suite);
  const docker = countingDocker(stackDocker(conn));
  const statuses = new Map<ResourceKey, unknown>();
  const events: Harness["events"] = [];
  const resources = new Map<ResourceKey, AnyResource>();
  const woken: ResourceKey[] = [];
  const waiters: { key: ResourceKey; resolve: (at: number) => void }[] = [];
  const reconciler = new StackReconciler({
    events: dockerEvents(conn, { filters: stackEventFilters(options.ownerId), watch: "stack-test" }),
    ownerId: options.ownerId,
  });
  const subscription: Subscription = reconciler.changes().subscribe((key) => {
    woken.push(key);
    const at = performance.now();
    for (let i = waiters.length - 1; i >= 0; i--) {
      const waiter = waiters[i];
      if (waiter?.key !== key) continue;
      waiters.splice(i, 1);
      waiter.resolve(at);
    }
  });
  const ctx: StackContext = {
    status: {
      async write(resource, status) {
        statuses.set(`${resource.kind}/${resource.metadata.namespace}/${resource.metadata.name}`, status);
      },
    },
    recorder: { event: (key, type, reason, message) => events.push({ key, type, reason, message }) },
    clock: { now: () => new Date() },
    log: silentLogger(),
    resources: {
      get: (key) => resources.get(key),
      list: (kind: Kind, namespace?: string) =>
        [...resources.values()].filter(
          (r) => r.kind === kind && (namespace === undefined || r.metadata.namespace === namespace),
        ),
    },
    docker,
    secrets: stateDirSecrets(options.stateDir ?? mkdtempSync(join(tmpdir(), "mlops-stack-state-"))),
    assets: await loadStackAssets(),
    ownerId: options.ownerId,
    operatorPort: options.operatorPort ?? 9464,
    pullTimeoutMs: 2000,
    extraLabels: { [TEST_LABEL]: "true", "mlops.dev/test-suite": suite },
    failureRequeueMs: 1000,
  };
  const keyOf = (s: MlopsStack) => `MlopsStack/${s.metadata.namespace}/${s.metadata.name}` as ResourceKey;
  const harness: Harness & { privileged: boolean } = {
    privileged,
    conn,
    docker,
    reconciler,
    ctx,
    statuses,
    events,
    resources,
    woken,
    statusOf: (stack) => statuses.get(keyOf(stack)) as StatusOf<MlopsStack> | undefined,
    async reconcile(stack) {
      const status = harness.statusOf(stack);
      // spec.nomad.privileged as this engine allows (a stack on a restricted dockerd sets it false).
      const onEngine = { ...stack, spec: { ...stack.spec, nomad: { ...stack.spec.nomad, privileged } } };
      return reconciler.reconcile(status ? { ...onEngine, status } : onEngine, ctx);
    },
    async converge(stack, done, timeoutMs = 90_000) {
      const start = performance.now();
      for (let i = 0; i < 1000; i++) {
        const action = await harness.reconcile(stack);
        const status = harness.statusOf(stack);
        if (status && done(status)) return performance.now() - start;
        if (performance.now() - start > timeoutMs) break;
        const wait = "requeueAfterMs" in action ? Math.min(action.requeueAfterMs, 500) : 500;
        await new Promise((r) => setTimeout(r, wait));
      }
      throw new Error(
        `stack ${keyOf(stack)} did not converge: ${JSON.stringify(harness.statusOf(stack), null, 1)}`,
      );
    },
    nextChange(key, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no change for ${key} within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          key,
          resolve: (at) => {
            clearTimeout(timer);
            resolve(at);
          },
        });
      });
    },
    drive(current) {
      let running = false;
      let dirty = false;
      let stopped = false;
      let timer: NodeJS.Timeout | undefined;
      const state = { reconciles: 0 };
      const kick = (): void => {
        if (stopped) return;
        if (running) {
          dirty = true;
          return;
        }
        if (timer) clearTimeout(timer);
        running = true;
        state.reconciles += 1;
        void harness
          .reconcile(current())
          .then(
            (action) => action,
            () => ({ requeueAfterMs: 1000 }) as Action,
          )
          .then((action) => {
            running = false;
            if (dirty) {
              dirty = false;
              kick();
            } else if ("requeueAfterMs" in action && !stopped) {
              timer = setTimeout(kick, action.requeueAfterMs);
            }
          });
      };
      const key = keyOf(current());
      const sub = reconciler.changes().subscribe((k) => {
        if (k === key) kick();
      });
      kick();
      return {
        get reconciles() {
          return state.reconciles;
        },
        stop() {
          stopped = true;
          if (timer) clearTimeout(timer);
          sub.unsubscribe();
        },
      };
    },
    close() {
      subscription.unsubscribe();
    },
  };
  return harness;
}

export const isReady = (s: { conditions?: { type: string; status: string }[] }) =>
  s.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

export function conditionOf(s: StatusOf<MlopsStack> | undefined, type: string) {
  return s?.conditions?.find((c) => c.type === type);
}

/** Removes every container, network and volume carrying mlops.dev/test-suite=<suite>. */
export async function cleanupDocker(conn: ConnectedDocker, suite = "stack"): Promise<void> {
  const label = [`mlops.dev/test-suite=${suite}`];
  const d = conn.docker;
  for (const c of await d.listContainers({ all: true, filters: { label } })) {
    await d
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => undefined);
  }
  for (const n of await d.listNetworks({ filters: { label } })) {
    await d
      .getNetwork(n.Id)
      .remove()
      .catch(() => undefined);
  }
  for (const v of (await d.listVolumes({ filters: { label } })).Volumes ?? []) {
    await d
      .getVolume(v.Name)
      .remove()
      .catch(() => undefined);
  }
}

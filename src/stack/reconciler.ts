// The MlopsStack reconciler: observe (Docker inspect) → render → diff → apply → status, written once
// per reconcile. Components start in readiness order; the reconciler never waits: it requeues until
// health checks pass, and Docker events (changes()) wake it for drift. Deletion removes what the
// operator owns (containers, network; volumes only with retainVolumes: false) once no TrainingJob
// names the stack.
import type { Observable } from "rxjs";
import { mergeMap, of } from "rxjs";
import { setConditions } from "../api/conditions.ts";
import { STACK_COMPONENTS, type StackComponent, stackContainerName, stackVolumeName } from "../api/names.ts";
import { type MlopsStack, type MlopsStackStatus, parseKey, type ResourceKey } from "../api/resources.ts";
import type { DockerEventMessage } from "../clients/docker/index.ts";
import {
  type Action,
  awaitChange,
  type BaseContext,
  type Reconciler,
  requeue,
} from "../controller/reconcile.ts";
import { stackComponents } from "../observability/metrics.ts";
import { configArchive } from "./archive.ts";
import type { StackAssets } from "./assets.ts";
import { describeStep, diff, type Plan, type Problem, type Step } from "./diff.ts";
import type { StackDocker } from "./docker.ts";
import { isTransient, problemOf, StackError } from "./errors.ts";
import { type DesiredContainer, type DesiredStack, LABELS, type ObservedStack } from "./model.ts";
import { renderStack, stackKeyOf } from "./render.ts";
import { grafanaAdminPassword } from "./secrets.ts";
import { isReady, stackStatus } from "./status.ts";

export interface StackReconcilerOptions {
  readonly docker: StackDocker;
  readonly ownerId: string;
  /** Port of the operator's HTTP server (/metrics, /sd/prometheus), listening on the network's gateway. */
  readonly operatorPort: number;
  /** The operator's state directory: the Grafana admin password lives under secrets/. */
  readonly stateDir: string;
  readonly assets: StackAssets;
  readonly dockerSocket?: string;
  /** One pull attempt of a missing image, bounded by this (default 5 s), then ImageNotFound. */
  readonly pullTimeoutMs?: number;
  /** The shared Docker event stream, filtered on this operator's owner id (stackEventFilters). */
  readonly events?: Observable<DockerEventMessage>;
  /** How soon to look again while components start (health checks run every second). */
  readonly progressRequeueMs?: number;
  readonly failureRequeueMs?: number;
  /** Extra labels on every Docker object of every stack. */
  readonly extraLabels?: Readonly<Record<string, string>>;
}

export interface StackReconciler extends Reconciler<MlopsStack> {
  /** Keys of stacks whose containers changed in Docker (removed, stopped, health changed). */
  changes(): Observable<ResourceKey>;
}

type Failures = Partial<Record<StackComponent | "network", Problem>>;

/** Label filters for the Docker event stream that feeds changes(). */
export function stackEventFilters(ownerId: string): { type: string[]; label: string[] } {
  return { type: ["container"], label: [`${LABELS.ownerId}=${ownerId}`, LABELS.component] };
}

const DRIFT_ACTIONS = /^(die|destroy|stop|kill|oom|pause|unpause|rename|update|health_status)/;

function targetOf(step: Step): StackComponent | "network" {
  switch (step.op) {
    case "createNetwork":
    case "removeNetwork":
      return "network";
    case "createVolume":
      return step.volume.component;
    case "createContainer":
    case "replaceContainer":
      return step.container.component;
    default:
      return step.component;
  }
}

export function createStackReconciler(options: StackReconcilerOptions): StackReconciler {
  const docker = options.docker;
  const known = new Set<ResourceKey>();
  const pullTimeoutMs = options.pullTimeoutMs ?? 5000;

  async function observe(desired: DesiredStack, namespace: string, name: string): Promise<ObservedStack> {
    const net = desired.network.name;
    const [network, containers, volumes] = await Promise.all([
      docker.inspectNetwork(net),
      Promise.all(
        STACK_COMPONENTS.map((c) => docker.inspectContainer(stackContainerName(namespace, name, c), net)),
      ),
      Promise.all(desired.volumes.map((v) => docker.inspectVolume(v.name))),
    ]);
    const observed: ObservedStack = { network, containers: {}, volumes: {} };
    STACK_COMPONENTS.forEach((c, i) => {
      const found = containers[i];
      if (found) observed.containers[c] = found;
    });
    desired.volumes.forEach((v, i) => {
      const found = volumes[i];
      if (found) observed.volumes[v.component] = found;
    });
    return observed;
  }

  async function create(container: DesiredContainer, network: string): Promise<void> {
    let id: string;
    try {
      id = await docker.createContainer(container, network);
    } catch (error) {
      if (problemOf(error).reason !== "ImageNotFound") throw error;
      if (!(await docker.pullImage(container.image, pullTimeoutMs))) {
        throw new StackError(
          "ImageNotFound",
          `image ${container.image} for container ${container.name} is not on the Docker engine and could not be pulled within ${pullTimeoutMs / 1000}s: build it locally (hack/build-images.sh) or make its registry reachable`,
          error,
        );
      }
      id = await docker.createContainer(container, network);
    }
    try {
      await docker.copyArchive(id, configArchive(container));
    } catch (error) {
      await docker.removeContainer(id);
      throw error;
    }
    // A start that fails (port or IP in use) leaves the container created: the next reconcile starts it.
    await docker.startContainer(id);
  }

  async function run(step: Step, network: string): Promise<void> {
    switch (step.op) {
      case "createNetwork":
        return docker.createNetwork(step.network);
      case "removeNetwork":
        return docker.removeNetwork(step.id);
      case "createVolume":
        return docker.createVolume(step.volume);
      case "createContainer":
        return create(step.container, network);
      case "replaceContainer":
        await docker.removeContainer(step.id);
        return create(step.container, network);
      case "startContainer":
        return docker.startContainer(step.id);
      case "removeContainer":
        return docker.removeContainer(step.id);
    }
  }

  async function apply(plan: Plan, desired: DesiredStack, ctx: BaseContext): Promise<Failures> {
    const failures: Failures = {};
    for (const step of plan.steps) {
      const target = targetOf(step);
      if (failures[target] || (target !== "network" && failures.network)) continue;
      try {
        await run(step, desired.network.name);
        ctx.recorder.event(desired.key as ResourceKey, "Normal", "Applied", describeStep(step));
      } catch (error) {
        if (isTransient(error)) throw error;
        const problem = problemOf(error);
        if (isRace(problem)) {
          // The container went away under us (docker rm -f: the die event comes before destroy).
          ctx.log.debug({ stack: desired.key, step: step.op }, problem.message);
          continue;
        }
        failures[target] = problem;
        ctx.recorder.event(desired.key as ResourceKey, "Warning", problem.reason, problem.message);
        ctx.log.warn({ stack: desired.key, step: step.op, reason: problem.reason }, problem.message);
      }
    }
    return failures;
  }

  function record(stack: MlopsStack, status: MlopsStackStatus): void {
    for (const [component, s] of Object.entries(status.components ?? {})) {
      stackComponents.set(
        { namespace: stack.metadata.namespace, stack: stack.metadata.name, component },
        s?.state === "running" && s.health === "healthy" && !s.reason ? 1 : 0,
      );
    }
  }

  return {
    kind: "MlopsStack",

    async reconcile(stack, ctx): Promise<Action> {
      const { namespace, name } = stack.metadata;
      known.add(stackKeyOf(stack));
      const desired = renderStack(stack, {
        ownerId: options.ownerId,
        operatorPort: options.operatorPort,
        dockerRootDir: await docker.dockerRootDir(),
        dockerSocket: options.dockerSocket ?? "/var/run/docker.sock",
        dashboards: options.assets.dashboards,
        ...(options.assets.alertRules === undefined ? {} : { alertRules: options.assets.alertRules }),
        grafanaAdminPassword: await grafanaAdminPassword(options.stateDir, namespace, name),
        ...(options.extraLabels ? { extraLabels: options.extraLabels } : {}),
      });
      const observed = await observe(desired, namespace, name);
      const plan = diff(desired, observed, { ownerId: options.ownerId });
      const failures = await apply(plan, desired, ctx);
      const after = plan.steps.length > 0 ? await observe(desired, namespace, name) : observed;
      const status = stackStatus({ stack, desired, observed: after, plan, failures, now: ctx.clock.now() });
      await ctx.status.write(stack, status);
      record(stack, status);
      if (isReady(status)) return awaitChange;
      const failed = Object.keys(failures).length > 0 || Object.keys(plan.blocked).length > 0;
      return requeue(failed ? (options.failureRequeueMs ?? 10_000) : (options.progressRequeueMs ?? 1000));
    },

    async finalize(key, lastKnown, ctx): Promise<Action | "done"> {
      const { namespace, name } = parseKey(key);
      const dependents = ctx.resources
        .list("TrainingJob", namespace)
        .filter((r) => r.kind === "TrainingJob" && r.spec.stackRef === name)
        .map((r) => r.metadata.name)
        .sort();
      if (dependents.length > 0) {
        const message = `deletion waits for TrainingJobs that name this stack: ${dependents.join(", ")}`;
        if (lastKnown) {
          const generation = lastKnown.metadata.generation;
          await ctx.status.write(lastKnown, {
            ...lastKnown.status,
            conditions: setConditions(
              lastKnown.status?.conditions,
              [
                { type: "Ready", status: "False", reason: "DependentsExist", message },
                { type: "Reconciling", status: "True", reason: "DependentsExist", message },
              ],
              generation,
              ctx.clock.now(),
            ),
          });
        }
        ctx.recorder.event(key, "Warning", "DependentsExist", message);
        return requeue(options.progressRequeueMs ?? 2000);
      }
      const owned = await docker.listOwned(options.ownerId, key);
      for (const id of owned.containers) await docker.removeContainer(id);
      for (const id of owned.networks) {
        try {
          await docker.removeNetwork(id);
        } catch (error) {
          const problem = problemOf(error);
          throw new StackError("NetworkInUse", `removing the network of ${key}: ${problem.message}`, error);
        }
      }
      if (lastKnown?.spec.retainVolumes === false) {
        for (const volume of owned.volumes) await docker.removeVolume(volume);
      }
      for (const component of STACK_COMPONENTS) stackComponents.remove({ namespace, stack: name, component });
      known.delete(key);
      ctx.recorder.event(
        key,
        "Normal",
        "Deleted",
        `removed ${owned.containers.length} containers and ${owned.networks.length} network(s); volumes ${
          lastKnown?.spec.retainVolumes === false
            ? "removed"
            : `kept (${STACK_COMPONENTS.map((c) => stackVolumeName(namespace, name, c)).join(", ")})`
        }`,
      );
      return "done";
    },

    changes(): Observable<ResourceKey> {
      if (options.events === undefined) return of();
      return options.events.pipe(
        mergeMap((message): ResourceKey[] => {
          if (message.type === "resync") return [...known];
          const { Action: action, Actor } = message.event;
          const key = Actor.Attributes[LABELS.stack];
          if (!DRIFT_ACTIONS.test(action) || Actor.Attributes[LABELS.ownerId] !== options.ownerId) return [];
          return key?.startsWith("MlopsStack/") && key.split("/").length === 3 ? [key as ResourceKey] : [];
        }),
      );
    },
  };
}

/** A container removed while we acted on it: look again at once, it is not a failure. */
function isRace(problem: Problem): boolean {
  return (
    problem.reason === "NotFound" ||
    /removal of container .* is already in progress|marked for removal/i.test(problem.message)
  );
}

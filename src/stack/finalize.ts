// Deleting an MlopsStack: it waits while TrainingJobs name it (DependentsExist), then removes what
// this operator owns under the stack's key, whatever its name: containers, network, and the data
// volumes only with retainVolumes: false.
import { setConditions } from "../api/conditions.ts";
import { STACK_COMPONENTS, stackVolumeName } from "../api/names.ts";
import { type MlopsStack, parseKey, type ResourceKey } from "../api/resources.ts";
import { type Action, type ResourceIndex, requeue } from "../controller/reconcile.ts";
import { stackComponents } from "../observability/metrics.ts";
import type { StackContext } from "./context.ts";
import type { OwnedObjects } from "./docker.ts";
import { problemOf, StackError } from "./errors.ts";

const DEFAULT_DEPENDENTS_REQUEUE_MS = 2000;

export async function finalizeStack(
  key: ResourceKey,
  lastKnown: MlopsStack | undefined,
  ctx: StackContext,
): Promise<Action | "done"> {
  const dependents = dependentsOf(key, ctx.resources);
  if (dependents.length > 0) {
    await waitForDependents(key, lastKnown, dependents, ctx);
    return requeue(ctx.progressRequeueMs ?? DEFAULT_DEPENDENTS_REQUEUE_MS);
  }
  const owned = await removeOwned(key, lastKnown?.spec.retainVolumes === false, ctx);
  const { namespace, name } = parseKey(key);
  for (const component of STACK_COMPONENTS) stackComponents.remove({ namespace, stack: name, component });
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
}

/** Names of the TrainingJobs in the stack's namespace whose spec.stackRef names it, sorted. */
export function dependentsOf(key: ResourceKey, resources: ResourceIndex): string[] {
  const { namespace, name } = parseKey(key);
  return resources
    .list("TrainingJob", namespace)
    .filter((r) => r.kind === "TrainingJob" && r.spec.stackRef === name)
    .map((r) => r.metadata.name)
    .sort();
}

async function waitForDependents(
  key: ResourceKey,
  lastKnown: MlopsStack | undefined,
  dependents: readonly string[],
  ctx: StackContext,
): Promise<void> {
  const message = `deletion waits for TrainingJobs that name this stack: ${dependents.join(", ")}`;
  if (lastKnown) {
    await ctx.status.write(lastKnown, {
      ...lastKnown.status,
      conditions: setConditions(
        lastKnown.status?.conditions,
        [
          { type: "Ready", status: "False", reason: "DependentsExist", message },
          { type: "Reconciling", status: "True", reason: "DependentsExist", message },
        ],
        lastKnown.metadata.generation,
        ctx.clock.now(),
      ),
    });
  }
  ctx.recorder.event(key, "Warning", "DependentsExist", message);
}

async function removeOwned(key: ResourceKey, volumesToo: boolean, ctx: StackContext): Promise<OwnedObjects> {
  const docker = ctx.docker;
  const owned = await docker.listOwned(ctx.ownerId, key);
  for (const id of owned.containers) await docker.removeContainer(id);
  for (const id of owned.networks) {
    try {
      await docker.removeNetwork(id);
    } catch (error) {
      const problem = problemOf(error);
      throw new StackError("NetworkInUse", `removing the network of ${key}: ${problem.message}`, error);
    }
  }
  if (volumesToo) for (const volume of owned.volumes) await docker.removeVolume(volume);
  return owned;
}

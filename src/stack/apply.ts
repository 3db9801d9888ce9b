// Apply, the reconcile's writing phase: the plan's steps in order on the Docker port. A failed step
// stops the steps of its component (and all of them when the network failed) and becomes that
// component's problem in status; an engine that does not answer ends the reconcile (the queue backs
// off). Each step applied and each failure is recorded as an event of the stack.
import type { StackComponent } from "../api/names.ts";
import type { ResourceKey } from "../api/resources.ts";
import { configArchive } from "./archive.ts";
import type { StackContext } from "./context.ts";
import { describeStep, type Plan, type Problem, type Step } from "./diff.ts";
import { isTransient, problemOf, StackError } from "./errors.ts";
import type { DesiredContainer, DesiredStack } from "./model.ts";

export type Failures = Partial<Record<StackComponent | "network", Problem>>;

const DEFAULT_PULL_TIMEOUT_MS = 5000;

export async function apply(plan: Plan, desired: DesiredStack, ctx: StackContext): Promise<Failures> {
  const key = desired.key as ResourceKey;
  const failures: Failures = {};
  for (const step of plan.steps) {
    const target = targetOf(step);
    if (failures[target] || (target !== "network" && failures.network)) continue;
    try {
      await run(step, desired.network.name, ctx);
      ctx.recorder.event(key, "Normal", "Applied", describeStep(step));
    } catch (error) {
      if (isTransient(error)) throw error;
      const problem = problemOf(error);
      if (isRace(problem)) {
        // The container went away under us (docker rm -f: the die event comes before destroy).
        ctx.log.debug({ stack: desired.key, step: step.op }, problem.message);
        continue;
      }
      failures[target] = problem;
      ctx.recorder.event(key, "Warning", problem.reason, problem.message);
      ctx.log.warn({ stack: desired.key, step: step.op, reason: problem.reason }, problem.message);
    }
  }
  return failures;
}

async function run(step: Step, network: string, ctx: StackContext): Promise<void> {
  const docker = ctx.docker;
  switch (step.op) {
    case "createNetwork":
      return docker.createNetwork(step.network);
    case "removeNetwork":
      return docker.removeNetwork(step.id);
    case "createVolume":
      return docker.createVolume(step.volume);
    case "createContainer":
      return create(step.container, network, ctx);
    case "replaceContainer":
      await docker.removeContainer(step.id);
      return create(step.container, network, ctx);
    case "startContainer":
      return docker.startContainer(step.id);
    case "removeContainer":
      return docker.removeContainer(step.id);
  }
}

/** Create (pulling a missing image once) → copy the configuration in → start. */
async function create(container: DesiredContainer, network: string, ctx: StackContext): Promise<void> {
  const docker = ctx.docker;
  const pullTimeoutMs = ctx.pullTimeoutMs ?? DEFAULT_PULL_TIMEOUT_MS;
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

/** A container removed while we acted on it: look again at once, it is not a failure. */
function isRace(problem: Problem): boolean {
  return (
    (problem.reason === "ReconcileError" && problem.message.startsWith("NotFound: ")) ||
    /removal of container .* is already in progress|marked for removal/i.test(problem.message)
  );
}

// Observe, the reconcile's first phase (reads only): what Docker holds under the stack's names, and
// the inputs a render needs from the world (dockerd's root directory, the Grafana credential).
import { STACK_COMPONENTS, stackContainerName, stackVolumeName } from "../api/names.ts";
import type { MlopsStack } from "../api/resources.ts";
import type { StackContext } from "./context.ts";
import type { StackDocker } from "./docker.ts";
import type { ObservedStack } from "./model.ts";
import { enabledComponents } from "./render.ts";

export interface Observation {
  /** The network, each component's container and each enabled component's data volume. */
  readonly objects: ObservedStack;
  /** dockerd's root directory: Nomad's data volume is mounted at its host path. */
  readonly dockerRootDir: string;
  readonly grafanaAdminPassword: string;
}

export async function observe(stack: MlopsStack, ctx: StackContext): Promise<Observation> {
  const { namespace, name } = stack.metadata;
  const dockerRootDir = await ctx.docker.dockerRootDir();
  const grafanaAdminPassword = await ctx.secrets.grafanaAdminPassword(namespace, name);
  return { objects: await observeObjects(stack, ctx.docker), dockerRootDir, grafanaAdminPassword };
}

/** The stack's Docker objects, looked up by the names its spec gives them. */
export async function observeObjects(stack: MlopsStack, docker: StackDocker): Promise<ObservedStack> {
  const { namespace, name } = stack.metadata;
  const net = stack.spec.network.name;
  const volumeOf = enabledComponents(stack).map((c) => ({
    component: c,
    name: stackVolumeName(namespace, name, c),
  }));
  const [network, containers, volumes] = await Promise.all([
    docker.inspectNetwork(net),
    Promise.all(
      STACK_COMPONENTS.map((c) => docker.inspectContainer(stackContainerName(namespace, name, c), net)),
    ),
    Promise.all(volumeOf.map((v) => docker.inspectVolume(v.name))),
  ]);
  const observed: ObservedStack = { network, containers: {}, volumes: {} };
  STACK_COMPONENTS.forEach((c, i) => {
    const found = containers[i];
    if (found) observed.containers[c] = found;
  });
  volumeOf.forEach((v, i) => {
    const found = volumes[i];
    if (found) observed.volumes[v.component] = found;
  });
  return observed;
}

// MlopsStack spec → the Docker objects that make it (pure): the network, the data volumes, and per
// enabled component its container spec with generated configuration (components.ts) and a spec
// hash over both, so a change replaces only the affected container.
import { hashOf } from "../api/hash.ts";
import { type StackComponent, stackContainerName, stackVolumeName } from "../api/names.ts";
import { keyOf, type MlopsStack, type ResourceKey } from "../api/resources.ts";
import { formatIp, gatewayOf, parseCidr, parseIp } from "../api/rules.ts";
import { COMPONENT_USERS, componentPart, healthCheck, hostPortOf, type RenderOptions } from "./components.ts";
import { type DesiredContainer, type DesiredStack, LABELS, MANAGED_BY, TIERS } from "./model.ts";

export { hashOf } from "../api/hash.ts";
export type { RenderOptions } from "./components.ts";
export { COMPONENT_USERS, HEALTH_PATHS, hostPortOf, nomadDataDir } from "./components.ts";

export function stackKeyOf(stack: MlopsStack): ResourceKey {
  return keyOf(stack);
}

function labelsFor(
  options: RenderOptions,
  key: string,
  extra: Record<string, string>,
): Record<string, string> {
  const ownerId = options.ownerId;
  return {
    ...options.extraLabels,
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.ownerId]: ownerId,
    [LABELS.stack]: key,
    [LABELS.key]: key,
    ...extra,
  };
}

export function renderContainer(
  stack: MlopsStack,
  component: StackComponent,
  options: RenderOptions,
): DesiredContainer {
  const { namespace, name } = stack.metadata;
  const c = stack.spec[component];
  const part = componentPart(stack, component, options);
  const users = COMPONENT_USERS[component];
  const body = {
    component,
    name: stackContainerName(namespace, name, component),
    image: c.image,
    ip: c.ip,
    port: c.port,
    hostPort: hostPortOf(c),
    user: `${users.uid}:${users.gid}`,
    cmd: part.cmd,
    env: part.env,
    health: healthCheck(component, c.port),
    mounts: part.mounts,
    privileged: part.privileged ?? false,
    ...(part.capAdd ? { capAdd: part.capAdd } : {}),
    ...(part.runtime ? { runtime: part.runtime } : {}),
    ...(component === "nomad" ? { cgroupns: "host" as const } : {}),
    files: part.files,
  };
  const hashed = {
    ...body,
    network: stack.spec.network,
    files: part.files.map((f) => (f.secret ? { path: f.path, mode: f.mode } : f)),
  };
  const specHash = hashOf(hashed);
  return {
    ...body,
    labels: labelsFor(options, stackKeyOf(stack), {
      [LABELS.component]: component,
      [LABELS.specHash]: specHash,
    }),
    specHash,
  };
}

/** The upper half of `subnet`, unless one of `fixed` lies in it (or the subnet is too small). */
export function dynamicRange(subnet: string, fixed: readonly string[]): string | undefined {
  const cidr = parseCidr(subnet);
  if (!cidr || cidr.bits > 28) return undefined;
  const half = (((cidr.base & cidr.mask) >>> 0) + 2 ** (31 - cidr.bits)) >>> 0;
  const halfMask = (0xffffffff << (31 - cidr.bits)) >>> 0;
  const inHalf = (ip: string) => {
    const value = parseIp(ip);
    return value !== undefined && (value & halfMask) >>> 0 === half;
  };
  return fixed.some(inHalf) ? undefined : `${formatIp(half)}/${cidr.bits + 1}`;
}

/** The components the spec enables, in readiness order. */
export function enabledComponents(stack: MlopsStack): StackComponent[] {
  return TIERS.flat().filter((c) => stack.spec[c].enabled);
}

export function renderStack(stack: MlopsStack, options: RenderOptions): DesiredStack {
  const { namespace, name } = stack.metadata;
  const key = stackKeyOf(stack);
  const net = stack.spec.network;
  const enabled = enabledComponents(stack);
  const ipRange = dynamicRange(
    net.subnet,
    TIERS.flat().map((c) => stack.spec[c].ip),
  );
  const networkHash = hashOf({ name: net.name, subnet: net.subnet, ipRange });
  return {
    key,
    network: {
      name: net.name,
      subnet: net.subnet,
      gateway: gatewayOf(net.subnet) ?? "",
      ...(ipRange ? { ipRange } : {}),
      labels: labelsFor(options, key, { [LABELS.specHash]: networkHash }),
      specHash: networkHash,
    },
    volumes: enabled.map((component) => ({
      component,
      name: stackVolumeName(namespace, name, component),
      labels: labelsFor(options, key, { [LABELS.component]: component }),
    })),
    containers: enabled.map((component) => renderContainer(stack, component, options)),
    disabled: TIERS.flat().filter((c) => !stack.spec[c].enabled),
  };
}

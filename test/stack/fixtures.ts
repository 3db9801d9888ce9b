// Builders for MlopsStack tests: a defaulted stack (through the real validator), render options,
// and observed containers/networks as docker inspect would report them.
import type { StackComponent } from "../../src/api/names.ts";
import type { MlopsStack } from "../../src/api/resources.ts";
import { validateDocument } from "../../src/api/validate.ts";
import type {
  DesiredContainer,
  DesiredStack,
  ObservedContainer,
  ObservedStack,
} from "../../src/stack/model.ts";
import type { RenderOptions } from "../../src/stack/render.ts";

export const OWNER = "owner-test";

export function stackOf(
  spec: Record<string, unknown> = {},
  name = "platform",
  namespace = "default",
): MlopsStack {
  const result = validateDocument({
    apiVersion: "mlops.dev/v1alpha1",
    kind: "MlopsStack",
    metadata: { name, namespace, generation: 1 },
    spec,
  });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.resource as MlopsStack;
}

export const renderOptions: RenderOptions = {
  ownerId: OWNER,
  operatorPort: 9464,
  dockerRootDir: "/var/lib/docker",
  dockerSocket: "/var/run/docker.sock",
  dashboards: { "operator-dashboard.json": '{"uid":"mlops-operator"}' },
  alertRules: "groups: []\n",
  grafanaAdminPassword: "s3cret",
};

export function running(c: DesiredContainer, overrides: Partial<ObservedContainer> = {}): ObservedContainer {
  return {
    id: `id-${c.component}`,
    name: c.name,
    image: c.image,
    labels: c.labels,
    state: "running",
    health: "healthy",
    ip: c.ip,
    ...overrides,
  };
}

/** The world exactly as desired, every component running and healthy. */
export function converged(desired: DesiredStack): ObservedStack {
  const containers: Partial<Record<StackComponent, ObservedContainer>> = {};
  for (const c of desired.containers) containers[c.component] = running(c);
  return {
    network: {
      id: "net-1",
      name: desired.network.name,
      subnet: desired.network.subnet,
      labels: desired.network.labels,
      containers: [],
    },
    containers,
    volumes: Object.fromEntries(
      desired.volumes.map((v) => [v.component, { name: v.name, labels: v.labels }]),
    ),
  };
}

export function containerOf(desired: DesiredStack, component: StackComponent): DesiredContainer {
  const c = desired.containers.find((x) => x.component === component);
  if (!c) throw new Error(`${component} is not rendered`);
  return c;
}

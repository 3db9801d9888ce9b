import { describe, expect, it } from "vitest";
import type { StackComponent } from "../../src/api/names.ts";
import { diff, type Step } from "../../src/stack/diff.ts";
import { LABELS, type ObservedStack } from "../../src/stack/model.ts";
import { renderStack } from "../../src/stack/render.ts";
import { containerOf, converged, OWNER, renderOptions, running, stackOf } from "./fixtures.ts";

const desired = renderStack(stackOf(), renderOptions);
const world = converged(desired);
const summary = (steps: readonly Step[]) =>
  steps.map((s) => {
    switch (s.op) {
      case "createNetwork":
      case "removeNetwork":
        return s.op;
      case "createVolume":
        return `${s.op}:${s.volume.component}`;
      case "createContainer":
      case "replaceContainer":
        return `${s.op}:${s.container.component}`;
      default:
        return `${s.op}:${s.component}`;
    }
  });

function withContainers(
  patch: Partial<Record<StackComponent, Parameters<typeof running>[1] | null>>,
): ObservedStack {
  const containers = { ...world.containers };
  for (const [component, overrides] of Object.entries(patch) as [StackComponent, object | null][]) {
    if (overrides === null) delete containers[component];
    else containers[component] = running(containerOf(desired, component), overrides);
  }
  return { ...world, containers };
}

const foreign = { [LABELS.ownerId]: "someone-else", [LABELS.stack]: "MlopsStack/default/platform" };

describe("diff", () => {
  it.each<[string, ObservedStack, string[], Partial<Record<StackComponent, StackComponent[]>>]>([
    ["converged: nothing to do", world, [], {}],
    [
      "empty engine: network, volumes, then Consul only (the rest waits for its health)",
      { network: undefined, containers: {}, volumes: {} },
      [
        "createNetwork",
        "createVolume:consul",
        "createVolume:nomad",
        "createVolume:prometheus",
        "createVolume:grafana",
        "createContainer:consul",
      ],
      { nomad: ["consul"], prometheus: ["consul", "nomad"], grafana: ["consul", "nomad"] },
    ],
    [
      "Consul healthy, Nomad missing: Nomad now, Prometheus and Grafana wait",
      withContainers({ nomad: null, prometheus: null, grafana: null }),
      ["createContainer:nomad"],
      { prometheus: ["nomad"], grafana: ["nomad"] },
    ],
    [
      "Consul and Nomad healthy: Prometheus and Grafana together",
      withContainers({ prometheus: null, grafana: null }),
      ["createContainer:prometheus", "createContainer:grafana"],
      {},
    ],
    [
      "Consul still starting: nothing after it",
      withContainers({ consul: { health: "starting" }, nomad: null }),
      [],
      { nomad: ["consul"] },
    ],
    [
      "a container removed by hand is created again",
      withContainers({ grafana: null }),
      ["createContainer:grafana"],
      {},
    ],
    [
      "a container stopped by hand is started",
      withContainers({ prometheus: { state: "exited", health: "unhealthy" } }),
      ["startContainer:prometheus"],
      {},
    ],
    [
      "a container whose labels changed by hand is replaced",
      withContainers({
        nomad: { labels: { ...containerOf(desired, "nomad").labels, [LABELS.specHash]: "x" } },
      }),
      ["replaceContainer:nomad"],
      {},
    ],
    [
      "a container disconnected from the network is replaced",
      withContainers({ grafana: { ip: undefined } }),
      ["replaceContainer:grafana"],
      {},
    ],
    [
      "an unhealthy running container is left to Docker (reported, not replaced)",
      withContainers({ grafana: { health: "unhealthy" } }),
      [],
      {},
    ],
  ])("%s", (_name, observed, steps, waiting) => {
    const plan = diff(desired, observed, { ownerId: OWNER });
    expect(summary(plan.steps)).toEqual(steps);
    expect(plan.waiting).toEqual(waiting);
  });

  it("replaces only the container whose spec changed", () => {
    const changed = renderStack(stackOf({ grafana: { image: "grafana/grafana:12.0.0" } }), renderOptions);
    expect(summary(diff(changed, world, { ownerId: OWNER }).steps)).toEqual(["replaceContainer:grafana"]);
  });

  it("removes the container of a disabled component (and Prometheus stops scraping it)", () => {
    const disabled = renderStack(stackOf({ grafana: { enabled: false } }), renderOptions);
    expect(summary(diff(disabled, world, { ownerId: OWNER }).steps)).toEqual([
      "removeContainer:grafana",
      "replaceContainer:prometheus",
    ]);
  });

  it("never touches a foreign container holding a component's name: NameConflict, and later tiers wait", () => {
    const observed = withContainers({ consul: { labels: foreign, state: "exited" } });
    const plan = diff(desired, observed, { ownerId: OWNER });
    expect(plan.steps).toEqual([]);
    expect(plan.blocked.consul?.reason).toBe("NameConflict");
  });

  it("never touches a foreign network holding the stack's network name", () => {
    if (world.network === undefined) throw new Error("fixture has a network");
    const observed: ObservedStack = { ...world, network: { ...world.network, labels: {} } };
    const plan = diff(desired, observed, { ownerId: OWNER });
    expect(plan.steps).toEqual([]);
    expect(plan.blocked.network?.reason).toBe("NameConflict");
  });

  it("leaves a disabled component's foreign container alone", () => {
    const disabled = renderStack(stackOf({ grafana: { enabled: false } }), renderOptions);
    const observed = withContainers({ grafana: { labels: foreign } });
    expect(summary(diff(disabled, observed, { ownerId: OWNER }).steps)).toEqual([
      "replaceContainer:prometheus",
    ]);
  });

  it("a changed subnet removes owned containers and recreates the network first", () => {
    const moved = renderStack(
      stackOf({
        network: { subnet: "172.21.0.0/16" },
        consul: { ip: "172.21.0.10" },
        nomad: { ip: "172.21.0.20" },
        prometheus: { ip: "172.21.0.30" },
        grafana: { ip: "172.21.0.40" },
      }),
      renderOptions,
    );
    expect(summary(diff(moved, world, { ownerId: OWNER }).steps)).toEqual([
      "removeContainer:consul",
      "removeContainer:nomad",
      "removeContainer:prometheus",
      "removeContainer:grafana",
      "removeNetwork",
      "createNetwork",
      "createContainer:consul",
    ]);
  });
});

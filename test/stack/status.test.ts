import { describe, expect, it } from "vitest";
import type { StackComponent } from "../../src/api/names.ts";
import { diff, type Problem } from "../../src/stack/diff.ts";
import type { ObservedStack } from "../../src/stack/model.ts";
import { renderStack } from "../../src/stack/render.ts";
import { stackStatus } from "../../src/stack/status.ts";
import { containerOf, converged, OWNER, renderOptions, running, stackOf } from "./fixtures.ts";

const stack = stackOf();
const desired = renderStack(stack, renderOptions);
const now = new Date("2026-01-01T00:00:00Z");

function statusFor(
  observed: ObservedStack,
  failures: Partial<Record<StackComponent | "network", Problem>> = {},
) {
  const plan = diff(desired, observed, { ownerId: OWNER });
  return stackStatus({ stack, desired, observed, plan, failures, now });
}
const conditions = (s: ReturnType<typeof statusFor>) =>
  Object.fromEntries((s.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));

describe("stackStatus", () => {
  const world = converged(desired);
  const without = (c: StackComponent) => {
    const containers = { ...world.containers };
    delete containers[c];
    return { ...world, containers };
  };
  const withHealth = (c: StackComponent, health: "starting" | "unhealthy") => ({
    ...world,
    containers: { ...world.containers, [c]: running(containerOf(desired, c), { health }) },
  });

  it.each<
    [string, ObservedStack, Partial<Record<StackComponent | "network", Problem>>, Record<string, string>]
  >([
    ["converged", world, {}, { Ready: "True/Ready" }],
    [
      "a component starting",
      withHealth("nomad", "starting"),
      {},
      { Ready: "False/Progressing", Reconciling: "True/Progressing" },
    ],
    [
      "a component unhealthy",
      withHealth("grafana", "unhealthy"),
      {},
      { Ready: "False/Unhealthy", Reconciling: "True/Progressing", Degraded: "True/Unhealthy" },
    ],
    [
      "a component crash-looping",
      {
        ...world,
        containers: {
          ...world.containers,
          prometheus: running(containerOf(desired, "prometheus"), {
            state: "restarting",
            health: "unhealthy",
            exitCode: 2,
          }),
        },
      },
      {},
      { Ready: "False/Restarting", Reconciling: "True/Progressing", Degraded: "True/Restarting" },
    ],
    [
      "an image missing",
      without("grafana"),
      { grafana: { reason: "ImageNotFound", message: "image x not found" } },
      { Ready: "False/ImageNotFound", Reconciling: "True/Progressing", Degraded: "True/ImageNotFound" },
    ],
    [
      "a port in use",
      without("consul"),
      { consul: { reason: "PortInUse", message: "port is already allocated" } },
      { Ready: "False/PortInUse", Reconciling: "True/Progressing", Degraded: "True/PortInUse" },
    ],
    [
      "the subnet in use",
      { network: undefined, containers: {}, volumes: {} },
      { network: { reason: "IPInUse", message: "Pool overlaps" } },
      { Ready: "False/IPInUse", Reconciling: "True/Progressing", Degraded: "True/IPInUse" },
    ],
  ])("%s", (_name, observed, failures, expected) => {
    expect(conditions(statusFor(observed, failures))).toEqual(expected);
  });

  it("reports each component and the endpoints inside the network and from the host", () => {
    const s = statusFor(world);
    expect(s.components?.consul).toEqual({
      image: "hashicorp/consul:1.20.2",
      containerId: "id-consul",
      state: "running",
      health: "healthy",
      ip: "172.20.0.10",
    });
    expect(s.endpoints).toEqual({
      consul: { internal: "http://172.20.0.10:8500", host: "http://127.0.0.1:8500" },
      nomad: { internal: "http://172.20.0.20:4646", host: "http://127.0.0.1:4646" },
      prometheus: { internal: "http://172.20.0.30:9090", host: "http://127.0.0.1:9090" },
      grafana: { internal: "http://172.20.0.40:3000", host: "http://127.0.0.1:3000" },
    });
    expect(s.observedGeneration).toBe(1);
  });

  it("omits the host endpoint of an unpublished component and says what a waiting one waits for", () => {
    const s2 = stackOf({ nomad: { hostPort: 0 } });
    const d2 = renderStack(s2, renderOptions);
    const observed: ObservedStack = { ...converged(d2), containers: {} };
    const st = stackStatus({
      stack: s2,
      desired: d2,
      observed,
      plan: diff(d2, observed, { ownerId: OWNER }),
      failures: {},
      now,
    });
    expect(st.endpoints?.nomad).toEqual({ internal: "http://172.20.0.20:4646" });
    expect(st.components?.nomad).toMatchObject({ state: "absent", reason: "Waiting" });
  });

  it("reports a foreign container as NameConflict without its id", () => {
    const foreign = running(containerOf(desired, "consul"), { id: "foreign", labels: {} });
    const s = statusFor({ ...world, containers: { ...world.containers, consul: foreign } });
    expect(conditions(s).Degraded).toBe("True/NameConflict");
    expect(s.components?.consul).toMatchObject({ state: "absent", reason: "NameConflict" });
    expect(s.components?.consul?.containerId).toBeUndefined();
  });

  it("keeps lastTransitionTime while Ready stays true", () => {
    const first = stackStatus({
      stack,
      desired,
      observed: world,
      plan: diff(desired, world, { ownerId: OWNER }),
      failures: {},
      now,
    });
    const later = stackStatus({
      stack: { ...stack, status: first },
      desired,
      observed: world,
      plan: diff(desired, world, { ownerId: OWNER }),
      failures: {},
      now: new Date("2026-01-02T00:00:00Z"),
    });
    expect(later.conditions?.[0]?.lastTransitionTime).toBe(now.toISOString());
  });

  it("Stalled for an invalid spec, DependentsExist while deletion waits", () => {
    const invalid = stackStatus({
      stack,
      desired,
      observed: world,
      plan: diff(desired, world, { ownerId: OWNER }),
      failures: {},
      now,
      invalid: { reason: "InvalidSpec", message: "spec.network.subnet: bad" },
    });
    expect(conditions(invalid)).toEqual({ Ready: "False/InvalidSpec", Stalled: "True/InvalidSpec" });
    const waiting = stackStatus({
      stack,
      desired,
      observed: world,
      plan: diff(desired, world, { ownerId: OWNER }),
      failures: {},
      now,
      dependents: ["mnist"],
    });
    expect(conditions(waiting)).toEqual({
      Ready: "False/DependentsExist",
      Reconciling: "True/DependentsExist",
    });
  });
});

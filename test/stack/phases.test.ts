// The reconcile's pure phases around render, diff and status: render's inputs from the observation
// and the context's settings, and when to look again.
import { describe, expect, it } from "vitest";
import type { StackComponent } from "../../src/api/names.ts";
import type { Action } from "../../src/controller/reconcile.ts";
import { diff, type Problem } from "../../src/stack/diff.ts";
import type { ObservedStack } from "../../src/stack/model.ts";
import { nextLook, renderOptions as renderInputs } from "../../src/stack/reconciler.ts";
import { renderStack } from "../../src/stack/render.ts";
import { stackStatus } from "../../src/stack/status.ts";
import { converged, OWNER, renderOptions, stackOf } from "./fixtures.ts";

const stack = stackOf();
const desired = renderStack(stack, renderOptions);
const world = converged(desired);
const empty: ObservedStack = { network: undefined, containers: {}, volumes: {} };
const nameConflict: ObservedStack = {
  ...empty,
  network: { id: "n1", name: desired.network.name, subnet: "172.20.0.0/16", labels: {}, containers: [] },
};

function look(
  observed: ObservedStack,
  failures: Partial<Record<StackComponent | "network", Problem>>,
  timing = {},
): Action {
  const plan = diff(desired, observed, { ownerId: OWNER });
  const status = stackStatus({ stack, desired, observed, plan, failures, now: new Date(0) });
  return nextLook(status, plan, failures, timing);
}

describe("nextLook", () => {
  const failed = { consul: { reason: "PortInUse" as const, message: "port is already allocated" } };
  it.each<[string, ObservedStack, Partial<Record<StackComponent | "network", Problem>>, object, Action]>([
    ["Ready: wait for a change", world, {}, {}, { awaitChange: true }],
    ["starting: soon", empty, {}, {}, { requeueAfterMs: 1000 }],
    ["starting, tuned", empty, {}, { progressRequeueMs: 250 }, { requeueAfterMs: 250 }],
    ["a step failed: later", empty, failed, {}, { requeueAfterMs: 10_000 }],
    ["a step failed, tuned", empty, failed, { failureRequeueMs: 1000 }, { requeueAfterMs: 1000 }],
    ["a name held by another owner: later", nameConflict, {}, {}, { requeueAfterMs: 10_000 }],
  ])("%s", (_name, observed, failures, timing, expected) => {
    expect(look(observed, failures, timing)).toEqual(expected);
  });
});

describe("renderOptions", () => {
  const seen = { dockerRootDir: "/data/docker", grafanaAdminPassword: "pw" };
  const settings = { ownerId: OWNER, operatorPort: 9464, assets: { dashboards: { "a.json": "{}" } } };
  it.each<[string, object, object]>([
    [
      "defaults",
      settings,
      {
        ownerId: OWNER,
        operatorPort: 9464,
        dockerRootDir: "/data/docker",
        dockerSocket: "/var/run/docker.sock",
        dashboards: { "a.json": "{}" },
        grafanaAdminPassword: "pw",
      },
    ],
    [
      "alert rules, socket and extra labels from the context",
      {
        ...settings,
        assets: { dashboards: {}, alertRules: "groups: []\n" },
        dockerSocket: "/run/user/1000/docker.sock",
        extraLabels: { "mlops.dev/test": "true" },
      },
      {
        ownerId: OWNER,
        operatorPort: 9464,
        dockerRootDir: "/data/docker",
        dockerSocket: "/run/user/1000/docker.sock",
        dashboards: {},
        alertRules: "groups: []\n",
        grafanaAdminPassword: "pw",
        extraLabels: { "mlops.dev/test": "true" },
      },
    ],
  ])("%s", (_name, ctx, expected) => {
    expect(renderInputs(seen, ctx as Parameters<typeof renderInputs>[1])).toEqual(expected);
  });
});

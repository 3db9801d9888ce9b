// A stack's phase for notifications, read from the conditions stackStatus writes.
import { describe, expect, it } from "vitest";
import type { StackComponent } from "../../src/api/names.ts";
import type { MlopsStackStatus } from "../../src/api/resources.ts";
import { diff, type Problem } from "../../src/stack/diff.ts";
import type { ObservedStack } from "../../src/stack/model.ts";
import { stackPhase } from "../../src/stack/phase.ts";
import { renderStack } from "../../src/stack/render.ts";
import { stackStatus } from "../../src/stack/status.ts";
import { converged, OWNER, renderOptions, stackOf } from "./fixtures.ts";

const stack = stackOf();
const desired = renderStack(stack, renderOptions);
const world = converged(desired);
const empty: ObservedStack = { network: undefined, containers: {}, volumes: {} };
const now = new Date("2026-01-01T00:00:00Z");

function statusFor(
  observed: ObservedStack,
  failures: Partial<Record<StackComponent | "network", Problem>> = {},
  extra: { invalid?: Problem; dependents?: string[] } = {},
): MlopsStackStatus {
  const plan = diff(desired, observed, { ownerId: OWNER });
  return stackStatus({ stack, desired, observed, plan, failures, now, ...extra });
}

describe("stackPhase", () => {
  it.each<[string, MlopsStackStatus | undefined, string | undefined]>([
    ["no status yet", undefined, undefined],
    ["no conditions yet", {}, undefined],
    ["converged", statusFor(world), "Ready"],
    ["components being created", statusFor(empty), "Progressing"],
    [
      "a component failing",
      statusFor(empty, { consul: { reason: "PortInUse", message: "port is already allocated" } }),
      "Degraded",
    ],
    [
      "an invalid spec",
      statusFor(world, {}, { invalid: { reason: "InvalidSpec", message: "spec.network.subnet: bad" } }),
      "Stalled",
    ],
    ["deletion waiting for its jobs", statusFor(world, {}, { dependents: ["mnist"] }), "Progressing"],
  ])("%s → %s", (_name, status, phase) => {
    expect(stackPhase(status)).toBe(phase);
  });
});

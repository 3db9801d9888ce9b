// Desired vs observed → an ordered plan (pure). Components start in readiness order: a tier is
// created, replaced or started only when every enabled component of the earlier tiers is healthy.
// Objects without this operator's owner id are never touched, even when their names collide: they
// are reported (NameConflict) instead. A converged stack gives an empty plan (no Docker writes).

import type { StackComponent } from "../api/names.ts";
import {
  type DesiredContainer,
  type DesiredNetwork,
  type DesiredStack,
  type DesiredVolume,
  LABELS,
  type ObservedContainer,
  type ObservedStack,
  ownedBy,
  TIERS,
  tierOf,
} from "./model.ts";
import type { StackConditionReason } from "./reasons.ts";

export type Step =
  | { readonly op: "createNetwork"; readonly network: DesiredNetwork }
  | { readonly op: "removeNetwork"; readonly id: string; readonly name: string; readonly why: string }
  | { readonly op: "createVolume"; readonly volume: DesiredVolume }
  /** Create, copy the configuration in, start. */
  | { readonly op: "createContainer"; readonly container: DesiredContainer }
  /** Remove the owned container, then create it again from `container`. */
  | {
      readonly op: "replaceContainer";
      readonly id: string;
      readonly container: DesiredContainer;
      readonly why: string;
    }
  | { readonly op: "startContainer"; readonly component: StackComponent; readonly id: string }
  | {
      readonly op: "removeContainer";
      readonly component: StackComponent;
      readonly id: string;
      readonly why: string;
    };

export interface Problem {
  readonly reason: StackConditionReason;
  readonly message: string;
}

export interface Plan {
  readonly steps: readonly Step[];
  /** Objects that cannot be made because something not owned holds the name (NameConflict). */
  readonly blocked: Partial<Record<StackComponent | "network", Problem>>;
  /** Components waiting for an earlier tier to become healthy: what they wait for. */
  readonly waiting: Partial<Record<StackComponent, readonly StackComponent[]>>;
}

export interface DiffOptions {
  readonly ownerId: string;
}

/** Running, healthy, and exactly what is desired. */
export function isConverged(desired: DesiredContainer, observed: ObservedContainer | undefined): boolean {
  return (
    observed !== undefined &&
    observed.labels[LABELS.specHash] === desired.specHash &&
    observed.state === "running" &&
    observed.health === "healthy" &&
    observed.ip === desired.ip
  );
}

function conflict(kind: string, name: string): Problem {
  return {
    reason: "NameConflict",
    message: `${kind} "${name}" exists and is not owned by this operator; it is left untouched`,
  };
}

function containerStep(desired: DesiredContainer, observed: ObservedContainer | undefined): Step | undefined {
  if (observed === undefined) return { op: "createContainer", container: desired };
  if (observed.labels[LABELS.specHash] !== desired.specHash) {
    return { op: "replaceContainer", id: observed.id, container: desired, why: "spec changed" };
  }
  if (observed.state === "dead") {
    return { op: "replaceContainer", id: observed.id, container: desired, why: "container is dead" };
  }
  if (observed.state === "created" || observed.state === "exited") {
    return { op: "startContainer", component: desired.component, id: observed.id };
  }
  if (observed.state === "running" && observed.ip !== desired.ip) {
    const where = observed.ip === undefined ? "not on the stack's network" : `at ${observed.ip}`;
    return { op: "replaceContainer", id: observed.id, container: desired, why: `container is ${where}` };
  }
  return undefined;
}

export function diff(desired: DesiredStack, observed: ObservedStack, options: DiffOptions): Plan {
  const steps: Step[] = [];
  const blocked: Partial<Record<StackComponent | "network", Problem>> = {};
  const waiting: Partial<Record<StackComponent, StackComponent[]>> = {};
  const owned = (labels: Readonly<Record<string, string>>) => ownedBy(labels, options.ownerId, desired.key);

  const net = observed.network;
  let containers = observed.containers;
  if (net !== undefined && !owned(net.labels)) {
    blocked.network = conflict("network", net.name);
    return { steps, blocked, waiting };
  }
  if (net === undefined) {
    steps.push({ op: "createNetwork", network: desired.network });
  } else if (net.labels[LABELS.specHash] !== desired.network.specHash) {
    // The subnet changed: every owned container leaves with the old network.
    for (const [component, c] of Object.entries(containers) as [StackComponent, ObservedContainer][]) {
      if (owned(c.labels)) steps.push({ op: "removeContainer", component, id: c.id, why: "network changed" });
    }
    containers = {};
    steps.push({
      op: "removeNetwork",
      id: net.id,
      name: net.name,
      why: `subnet is now ${desired.network.subnet}`,
    });
    steps.push({ op: "createNetwork", network: desired.network });
  }

  for (const component of desired.disabled) {
    const c = containers[component];
    if (c !== undefined && owned(c.labels)) {
      steps.push({ op: "removeContainer", component, id: c.id, why: "component disabled" });
    }
  }

  for (const volume of desired.volumes) {
    const v = observed.volumes[volume.component];
    if (v === undefined) steps.push({ op: "createVolume", volume });
    else if (!owned(v.labels)) blocked[volume.component] = conflict("volume", volume.name);
  }

  const notReady = new Set<StackComponent>();
  for (const tier of TIERS) {
    const before = [...notReady];
    for (const component of tier) {
      const want = desired.containers.find((c) => c.component === component);
      if (want === undefined) continue;
      const have = containers[component];
      if (have !== undefined && !owned(have.labels)) {
        blocked[component] = conflict("container", want.name);
      }
      if (blocked[component] !== undefined) {
        notReady.add(component);
        continue;
      }
      const step = containerStep(want, have);
      if (step !== undefined || !isConverged(want, have)) notReady.add(component);
      if (step === undefined) continue;
      const earlier = before.filter((c) => tierOf(c) < tierOf(component));
      if (earlier.length > 0) waiting[component] = earlier;
      else steps.push(step);
    }
  }
  return { steps, blocked, waiting };
}

/** One line per step, for events, logs and `mlopsctl plan` (secrets never appear in a step). */
export function describeStep(step: Step): string {
  switch (step.op) {
    case "createNetwork":
      return `created network ${step.network.name} (${step.network.subnet})`;
    case "removeNetwork":
      return `removed network ${step.name}: ${step.why}`;
    case "createVolume":
      return `created volume ${step.volume.name}`;
    case "createContainer":
      return `created and started container ${step.container.name} at ${step.container.ip}`;
    case "replaceContainer":
      return `replaced container ${step.container.name}: ${step.why}`;
    case "startContainer":
      return `started container ${step.id.slice(0, 12)} (${step.component})`;
    case "removeContainer":
      return `removed container ${step.id.slice(0, 12)} (${step.component}): ${step.why}`;
  }
}

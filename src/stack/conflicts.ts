// What two MlopsStacks of one operator cannot both have on one Docker engine: a network of the same
// name (its labels name one stack: the other reports NameConflict), subnets that overlap (Docker
// refuses the second network: IPInUse) and a host port on 127.0.0.1 (PortInUse). The operator finds
// these when it creates the second stack; `plan` says so first.
import { STACK_COMPONENTS } from "../api/names.ts";
import { keyOf, type MlopsStack, type ResourceKey } from "../api/resources.ts";
import { parseCidr } from "../api/rules.ts";
import { hostPortOf } from "./components.ts";

/** Why a stack cannot have what it declares: what another stack (named) claims first. */
export interface StackConflict {
  readonly with: ResourceKey;
  readonly what: readonly string[];
}

/**
 * For each stack that claims something an earlier one does, what and whose. `stacks` in the order
 * they would have their objects: those that exist first, then the rest (the order a fresh operator
 * reconciles is not known: both of two new stacks are as likely to be the one left out).
 */
export function stackConflicts(stacks: readonly MlopsStack[]): Map<ResourceKey, StackConflict> {
  const out = new Map<ResourceKey, StackConflict>();
  for (const [i, stack] of stacks.entries()) {
    for (const earlier of stacks.slice(0, i)) {
      const what = claimedByBoth(earlier, stack);
      if (what.length > 0) {
        out.set(keyOf(stack), { with: keyOf(earlier), what });
        break;
      }
    }
  }
  return out;
}

function claimedByBoth(a: MlopsStack, b: MlopsStack): string[] {
  const what: string[] = [];
  if (a.spec.network.name === b.spec.network.name) what.push(`network ${b.spec.network.name}`);
  else if (overlap(a.spec.network.subnet, b.spec.network.subnet))
    what.push(`subnet ${b.spec.network.subnet} (overlaps ${a.spec.network.subnet})`);
  const ports = new Set(hostPorts(a));
  const shared = hostPorts(b).filter((port) => ports.has(port));
  if (shared.length > 0) what.push(`host port${shared.length > 1 ? "s" : ""} ${shared.join(", ")}`);
  return what;
}

/** The host ports a stack publishes on 127.0.0.1: each enabled component's (0: none). */
function hostPorts(stack: MlopsStack): number[] {
  return STACK_COMPONENTS.filter((c) => stack.spec[c].enabled !== false)
    .map((c) => hostPortOf(stack.spec[c]))
    .filter((port) => port > 0);
}

function overlap(x: string, y: string): boolean {
  const a = parseCidr(x);
  const b = parseCidr(y);
  if (!a || !b) return false;
  const mask = (a.bits < b.bits ? a.mask : b.mask) >>> 0;
  return (a.base & mask) >>> 0 === (b.base & mask) >>> 0;
}

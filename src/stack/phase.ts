// A stack's phase, for notifications: MlopsStack status has conditions and no phase field, so its
// phase is read from them (kstatus's order: Stalled, then Ready, then Degraded, else Progressing):
//   Stalled      Stalled True (an invalid spec: needs a person)
//   Ready        Ready True (every component running and healthy)
//   Degraded     Degraded True and not Ready (a component fails: ImageNotFound, PortInUse, Unhealthy…)
//   Progressing  otherwise (components being created or started, deletion waiting for its jobs)
// No conditions yet: no phase (a new stack's first status is its first transition).
import { findCondition } from "../api/conditions.ts";
import type { MlopsStackStatus } from "../api/resources.ts";

export const STACK_PHASES = ["Progressing", "Ready", "Degraded", "Stalled"] as const;
export type StackPhase = (typeof STACK_PHASES)[number];

export function stackPhase(status: MlopsStackStatus | undefined): StackPhase | undefined {
  const conditions = status?.conditions;
  if (!conditions || conditions.length === 0) return undefined;
  if (findCondition(conditions, "Stalled")?.status === "True") return "Stalled";
  if (findCondition(conditions, "Ready")?.status === "True") return "Ready";
  if (findCondition(conditions, "Degraded")?.status === "True") return "Degraded";
  return "Progressing";
}

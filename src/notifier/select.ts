// Which Notifiers hear of a TrainingJob's or MlopsStack's phase change (spec.events), and what they
// are sent: the payload documented in docs/notifications.md. Pure. A stack's phase is the one
// stack/phase.ts reads from its conditions; it has no run, so a stack transition's id is told apart
// from an earlier identical one (Ready → Degraded twice) by the newest lastTransitionTime of its
// conditions, which every phase change moves.
import { createHash } from "node:crypto";
import { findCondition } from "../api/conditions.ts";
import { type AnyResource, API_VERSION, keyOf, type Notifier } from "../api/resources.ts";

export interface PhaseChange {
  readonly resource: AnyResource;
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly time: Date;
}

export interface Payload {
  readonly apiVersion: typeof API_VERSION;
  readonly type: "PhaseChanged";
  /** The same for every delivery of one (notifier, resource, run, attempt, transition): receivers may dedupe on it. */
  readonly id: string;
  readonly notifier: { readonly namespace: string; readonly name: string };
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly runId: string | null;
  readonly previousPhase: string | null;
  readonly phase: string | null;
  readonly reason: string | null;
  readonly message: string | null;
  readonly time: string;
}

/** The kinds whose phase changes are notified (spec.events.kinds defaults to both). */
export const NOTIFIED_KINDS = ["TrainingJob", "MlopsStack"] as const;

export function selects(notifier: Notifier, change: PhaseChange): boolean {
  const { resource, to } = change;
  const events = notifier.spec.events;
  if (!watches(notifier, resource)) return false;
  if (events?.phases && !(to !== undefined && (events.phases as readonly string[]).includes(to)))
    return false;
  if (events?.reasons) {
    const reason = readyOf(resource)?.reason;
    if (reason === undefined || !events.reasons.includes(reason)) return false;
  }
  return true;
}

/** The Notifier hears of some of the resource's transitions (its kind, namespace and labels match). */
export function watches(notifier: Notifier, resource: AnyResource): boolean {
  const events = notifier.spec.events;
  const kinds: readonly string[] = events?.kinds ?? NOTIFIED_KINDS;
  if (!kinds.includes(resource.kind)) return false;
  const namespaces = events?.namespaces ?? [notifier.metadata.namespace];
  if (!namespaces.includes("*") && !namespaces.includes(resource.metadata.namespace)) return false;
  for (const [label, value] of Object.entries(events?.labels ?? {})) {
    if (resource.metadata.labels?.[label] !== value) return false;
  }
  return true;
}

export function payloadOf(notifier: Notifier, change: PhaseChange): Payload {
  const { resource } = change;
  const ready = readyOf(resource);
  const run = (resource.status as { run?: { id?: string; attempts?: { attempt: number }[] } } | undefined)
    ?.run;
  const runId = run?.id ?? null;
  // A run's later attempts make the same transitions again (Running → Pending when one fails): each
  // attempt's are its own. The first attempt's ids are as before attempts counted.
  const attempt = run?.attempts?.at(-1)?.attempt ?? 1;
  const ofRun = attempt > 1 ? `${runId ?? ""}#${attempt}` : (runId ?? "");
  const id = createHash("sha256")
    .update(
      [
        keyOf(notifier),
        keyOf(resource),
        resource.kind === "MlopsStack" ? `stack@${newestTransition(resource)}` : ofRun,
        change.from ?? "",
        change.to ?? "",
      ].join("\u0000"),
    )
    .digest("hex")
    .slice(0, 32);
  return {
    apiVersion: API_VERSION,
    type: "PhaseChanged",
    id,
    notifier: { namespace: notifier.metadata.namespace, name: notifier.metadata.name },
    kind: resource.kind,
    namespace: resource.metadata.namespace,
    name: resource.metadata.name,
    runId,
    previousPhase: change.from ?? null,
    phase: change.to ?? null,
    reason: ready?.reason ?? null,
    message: ready?.message ?? null,
    time: change.time.toISOString(),
  };
}

function newestTransition(resource: AnyResource): string {
  const conditions = (resource.status as { conditions?: { lastTransitionTime?: string }[] } | undefined)
    ?.conditions;
  // RFC 3339 times in one format: the greatest string is the newest time.
  return (
    (conditions ?? [])
      .map((c) => c.lastTransitionTime ?? "")
      .sort()
      .at(-1) ?? ""
  );
}

function readyOf(resource: AnyResource) {
  return findCondition((resource.status as { conditions?: never } | undefined)?.conditions, "Ready");
}

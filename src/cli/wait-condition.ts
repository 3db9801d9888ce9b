// What `mlopsctl wait --for=…` waits for, as kubectl wait reads it: `condition=Ready` (status
// "True"), `condition=Ready=False`, `phase=Succeeded`, `delete`. A condition counts only when it
// belongs to the current generation; a run that ended in another phase can no longer meet a wait.

import { findCondition } from "../api/conditions.ts";
import type { Kind } from "../api/resources.ts";
import type { StatusRecord } from "../sources/state/index.ts";
import { REASONS } from "../trainingjob/model.ts";
import { describeProgress } from "../trainingjob/progress.ts";
import { EXIT, ExitError } from "./exit.ts";

export type WaitFor =
  | { readonly on: "condition"; readonly type: string; readonly status: string }
  | { readonly on: "phase"; readonly phase: string }
  | { readonly on: "delete" };

/** Phases after which a resource's status stays as it is until its spec changes. */
const TERMINAL_PHASES = new Set(["Succeeded", "Failed"]);

/**
 * The phases a kind's status records: only a TrainingJob's has one (a MlopsStack's phase, as its
 * notifications name it, is read from its conditions; a queue and a notifier have conditions only).
 * A phase no status can hold would be waited for until the timeout.
 */
const PHASES_OF: Partial<Record<Kind, readonly string[]>> = { TrainingJob: Object.keys(REASONS) };

/** What `--for` asks (`kind`: the resource's, whose phases are checked when a phase is asked for). */
export function parseWaitFor(value: string, kind?: Kind): WaitFor {
  if (value === "delete") return { on: "delete" };
  const [what, name, status, ...rest] = value.split("=");
  const bad = (why: string) =>
    new ExitError(
      EXIT.usage,
      `invalid --for "${value}": ${why} (use condition=Ready, condition=Ready=False, phase=Succeeded or delete)`,
    );
  if (!name || rest.length > 0) throw bad("expected one or two '='");
  if (what === "condition") {
    const wanted = (status ?? "True").toLowerCase();
    if (!["true", "false", "unknown"].includes(wanted))
      throw bad("a condition's status is True, False or Unknown");
    return { on: "condition", type: name, status: wanted };
  }
  if (what === "phase" && status === undefined) {
    const phases = kind === undefined ? undefined : PHASES_OF[kind];
    if (kind !== undefined && phases === undefined)
      throw new ExitError(
        EXIT.usage,
        `invalid --for "${value}": a ${kind} has no phase; wait for a condition (condition=Ready)`,
      );
    if (phases !== undefined && !phases.includes(name))
      throw new ExitError(
        EXIT.usage,
        `invalid --for "${value}": a ${kind}'s phase is one of ${phases.join(", ")}`,
      );
    return { on: "phase", phase: name };
  }
  throw bad(`unknown "${what}"`);
}

export function describeWaitFor(want: WaitFor): string {
  if (want.on === "delete") return "deletion";
  if (want.on === "phase") return `phase=${want.phase}`;
  return `condition=${want.type}${want.status === "true" ? "" : `=${want.status}`}`;
}

export type WaitVerdict = { readonly met: true } | { readonly met: false; readonly impossible?: string };

export function judge(record: StatusRecord | undefined, want: WaitFor): WaitVerdict {
  if (want.on === "delete") return record ? { met: false } : { met: true };
  if (!record) return { met: false };
  const status = record.status ?? {};
  const generation = record.metadata.generation;
  const current = status.observedGeneration === undefined || status.observedGeneration === generation;
  if (want.on === "phase") {
    if (current && status.phase === want.phase) return { met: true };
  } else {
    const condition = findCondition(status.conditions as never, want.type);
    const ofThisGeneration =
      condition?.observedGeneration === undefined || condition.observedGeneration === generation;
    if (condition && ofThisGeneration && condition.status.toLowerCase() === want.status) return { met: true };
  }
  const phase = typeof status.phase === "string" ? status.phase : undefined;
  if (current && phase && TERMINAL_PHASES.has(phase)) {
    const ready = findCondition(status.conditions as never, "Ready");
    const why = ready?.reason ? ` (${ready.reason}${ready.message ? `: ${ready.message}` : ""})` : "";
    return { met: false, impossible: `the run ended ${phase}${why}` };
  }
  return { met: false };
}

/** The live line's text: phase, Ready, replicas started of those wanted, progress when reported. */
export function summarize(record: StatusRecord | undefined): string {
  if (!record) return "not found yet";
  const status = record.status ?? {};
  const parts: string[] = [];
  if (typeof status.phase === "string") parts.push(status.phase);
  const ready = findCondition(status.conditions as never, "Ready");
  parts.push(`Ready=${ready?.status ?? "Unknown"}${ready?.reason ? ` ${ready.reason}` : ""}`);
  const run = status.run as { replicas?: { state?: string }[] } | undefined;
  const wanted = (record.spec as { replicas?: number } | undefined)?.replicas;
  if (run?.replicas || wanted !== undefined) {
    const running = (run?.replicas ?? []).filter((r) => r.state === "running").length;
    parts.push(`replicas ${running}/${wanted ?? run?.replicas?.length ?? 0}`);
  }
  const progress = status.progress as { ratio?: number; epoch?: number } | undefined;
  if (status.phase === "Running" && progress) parts.push(`progress ${describeProgress(progress)}`);
  return parts.join("  ");
}

// What submit() must do to make Docker hold the requested run (pure): containers of another run or
// run spec go; missing replicas are created; replicas the operator stopped (stop marker) or someone
// stopped by hand are started again (resume); limits that drifted are updated in place. Finished
// replicas (exit 0, retries used up, failed start) are never started again: a run runs once.
import { LABEL } from "../../clients/docker/labels.ts";
import type { RunRequest } from "../port.ts";
import { type InspectedContainer, isStopMarked, isStoppedByHand } from "./observe.ts";
import { type ContainerSpec, type RestartPolicy, restartPolicyFor } from "./render.ts";

export interface LimitUpdate {
  readonly id: string;
  readonly name: string;
  readonly nanoCpus: number;
  readonly memory: number;
}

export interface SubmitPlan {
  /** A container by this run's key (or name) that carries another owner id: nothing is done. */
  readonly notOwned?: InspectedContainer;
  readonly remove: readonly InspectedContainer[];
  /** Stop-marked replicas whose restart policy goes back to `policy` before they start. */
  readonly restore: readonly InspectedContainer[];
  readonly policy: RestartPolicy;
  readonly update: readonly LimitUpdate[];
  readonly start: readonly InspectedContainer[];
  readonly create: readonly ContainerSpec[];
}

export function isEmptyPlan(plan: SubmitPlan): boolean {
  return (
    plan.remove.length + plan.restore.length + plan.update.length + plan.start.length + plan.create.length ===
    0
  );
}

export function planSubmit(
  run: RunRequest,
  specs: readonly ContainerSpec[],
  existing: readonly InspectedContainer[],
): SubmitPlan {
  const policy = restartPolicyFor();
  const plan = {
    remove: [] as InspectedContainer[],
    restore: [] as InspectedContainer[],
    policy,
    update: [] as LimitUpdate[],
    start: [] as InspectedContainer[],
    create: [] as ContainerSpec[],
  };
  const foreign = existing.find((c) => c.Config.Labels?.[LABEL.ownerId] !== run.ownerId);
  if (foreign) return { ...plan, notOwned: foreign };

  const current = new Map<number, InspectedContainer>();
  for (const c of existing) {
    const labels = c.Config.Labels ?? {};
    const replica = Number.parseInt(labels[LABEL.replica] ?? "", 10);
    const same =
      labels[LABEL.runId] === run.runId &&
      labels[LABEL.runSpecHash] === run.runSpecHash &&
      (labels[LABEL.attempt] ?? "1") === String(run.attempt ?? 1);
    if (!same || !(replica >= 0 && replica < specs.length) || current.has(replica)) plan.remove.push(c);
    else current.set(replica, c);
  }
  for (const spec of specs) {
    const c = current.get(spec.replica);
    if (!c) {
      plan.create.push(spec);
      continue;
    }
    const status = c.State.Status;
    if (isStopMarked(c)) {
      plan.restore.push(c);
      if (status !== "running" && status !== "restarting") plan.start.push(c);
    } else if ((status === "created" && !c.State.Error) || isStoppedByHand(c)) {
      plan.start.push(c);
    } else if (status === "running" || status === "restarting" || status === "paused") {
      const nanoCpus = spec.body.HostConfig?.NanoCpus ?? 0;
      const memory = spec.body.HostConfig?.Memory ?? 0;
      if (c.HostConfig.NanoCpus !== nanoCpus || c.HostConfig.Memory !== memory) {
        plan.update.push({ id: c.Id, name: c.Name.replace(/^\//, ""), nanoCpus, memory });
      }
    }
  }
  return plan;
}

// A decision's step done on the scheduler (submit, stop or purge), with the resource's event for it.
import type { ResourceKey } from "../api/resources.ts";
import type { RunRequest, Scheduler } from "../scheduler/port.ts";
import type { TrainingJobContext } from "./context.ts";
import type { Decision } from "./decide.ts";

/** Does the step; resolves to the scheduler's version of its object after a write, when it keeps one. */
export async function apply(
  scheduler: Scheduler,
  decision: Decision,
  request: RunRequest,
  ctx: TrainingJobContext,
  key: ResourceKey,
): Promise<string | undefined> {
  const step = decision.step;
  switch (step.op) {
    case "none":
      return undefined;
    case "submit": {
      const version = await scheduler.submit(request);
      ctx.recorder.event(
        key,
        "Normal",
        submitReason[step.why],
        `run ${request.runId} attempt ${request.attempt ?? 1} on ${scheduler.name} ${scheduler.target}`,
      );
      return version;
    }
    case "stop": {
      const version = await scheduler.stop(request.key, step.why);
      ctx.recorder.event(key, "Normal", "Stopped", `run ${request.runId} stopped (${step.why})`);
      return version;
    }
    case "purge":
      await scheduler.purge(request.key);
      ctx.recorder.event(
        key,
        "Normal",
        "Purged",
        `run ${request.runId} purged after ttlSecondsAfterFinished`,
      );
      return undefined;
  }
}

const submitReason = {
  create: "Created",
  replace: "Replaced",
  update: "Updated",
  resume: "Resumed",
  repair: "Repaired",
  retry: "Retried",
  requeue: "Readmitted",
} as const;

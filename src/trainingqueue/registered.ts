// Usage from the scheduler before anything is admitted: a run that was registered just before the
// operator stopped (or its leader died), before its status recorded the admission, is found among
// the scheduler's objects carrying the operator's owner id and holds its queue's quota from the
// start, so no run is admitted over it while its own reconcile has not come yet.
import type { Logger } from "pino";
import { messageOf } from "../api/errors.ts";
import { parseKey, type ResourceKey, type TrainingJob } from "../api/resources.ts";
import type { ResourceIndex } from "../controller/reconcile.ts";
import { occupies, type Scheduler } from "../scheduler/port.ts";

export interface RegisteredRuns {
  /** Runs found live and held. */
  readonly held: number;
  /** Schedulers that could not be asked (their runs are counted when their jobs are reconciled). */
  readonly skipped: readonly { readonly scheduler: string; readonly message: string }[];
}

/** The part of the queue gate this needs. */
export interface HoldingGate {
  holds(key: ResourceKey): boolean;
  hold(job: TrainingJob): void;
}

export async function holdRegisteredRuns(
  schedulers: readonly Scheduler[],
  ownerId: string,
  resources: ResourceIndex,
  gate: HoldingGate,
  log?: Logger,
): Promise<RegisteredRuns> {
  let held = 0;
  const skipped: { scheduler: string; message: string }[] = [];
  // No queued job declared: nothing to hold, and no scheduler needs asking at start-up.
  const queued = resources
    .list("TrainingJob")
    .some((r) => r.kind === "TrainingJob" && r.spec.queue !== undefined);
  if (!queued) return { held, skipped };
  for (const scheduler of schedulers) {
    try {
      for (const { key } of await scheduler.listOwned(ownerId)) {
        const job = resources.get(key);
        if (job?.kind !== "TrainingJob" || job.spec.queue === undefined || job.spec.suspend) continue;
        if (gate.holds(key)) continue;
        const parts = parseKey(key);
        const recorded = job.status?.run?.schedulerVersion;
        const observed = await scheduler.observe({ ...parts, kind: "TrainingJob" }, recorded);
        if (!occupies(observed)) continue;
        gate.hold(job);
        held++;
      }
    } catch (error) {
      skipped.push({ scheduler: `${scheduler.name} ${scheduler.target}`, message: messageOf(error) });
    }
  }
  for (const skip of skipped)
    log?.warn({ scheduler: skip.scheduler, err: skip.message }, "queued runs not counted before admitting");
  if (held > 0) log?.info({ held }, "registered runs hold their queues' quota");
  return { held, skipped };
}

// Orphan clean-up: runs of this operator's owner id that no resource declares any more (their file
// went while the operator was down), removed from every scheduler runs may be on. Each scheduler
// on its own: one that does not answer is reported and skipped, never stops the others.
import { messageOf, reasonOf } from "../api/errors.ts";
import { parseKey, type ResourceKey } from "../api/resources.ts";
import type { Recorder } from "../controller/reconcile.ts";
import type { Lookup } from "../controller/source.ts";
import type { Scheduler } from "../scheduler/port.ts";

export interface OrphanCleanup {
  removed: number;
  /** A scheduler that could not be listed, or a run that could not be removed (retried next start). */
  skipped: { scheduler: string; reason: string; message: string }[];
}

export interface OrphanInput {
  readonly schedulers: Iterable<Scheduler>;
  readonly ownerId: string;
  readonly lookup: (key: ResourceKey) => Lookup;
  readonly recorder: Recorder;
}

export async function removeOrphans(input: OrphanInput): Promise<OrphanCleanup> {
  const result: OrphanCleanup = { removed: 0, skipped: [] };
  for (const scheduler of input.schedulers) {
    const where = `${scheduler.name} ${scheduler.target}`;
    const skip = (error: unknown) =>
      result.skipped.push({ scheduler: where, reason: reasonOf(error), message: messageOf(error) });
    let owned: Awaited<ReturnType<Scheduler["listOwned"]>>;
    try {
      owned = await scheduler.listOwned(input.ownerId);
    } catch (error) {
      skip(error);
      continue;
    }
    for (const run of owned) {
      if (!orphaned(input.lookup(run.key))) continue;
      try {
        await scheduler.purge({ ...parseKey(run.key), kind: "TrainingJob" });
      } catch (error) {
        skip(error);
        continue;
      }
      input.recorder.event(
        run.key,
        "Normal",
        "OrphanRemoved",
        `no resource declares it; removed from ${where}`,
      );
      result.removed++;
    }
  }
  return result;
}

/**
 * Nothing declares it: unknown to the source, or deleted with nothing recorded about it (a run
 * killed between its register and its status write, whose file then went). A deleted resource
 * with a last known state is left to its finalizer.
 */
export function orphaned(lookup: Lookup): boolean {
  return lookup.state === "absent" || (lookup.state === "deleted" && lookup.lastKnown === undefined);
}

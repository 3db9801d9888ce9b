// What `run` says while it watches: a log line per phase change, and the table again once no
// TrainingJob is unfinished.
import type { Logger } from "pino";
import { type AnyResource, keyOf, type ResourceKey } from "../api/resources.ts";
import type { ResourceIndex } from "../controller/reconcile.ts";
import { unredacted } from "../observability/logger.ts";

export const FINISHED = new Set(["Succeeded", "Failed"]);
const phaseOf = (job: AnyResource): string | undefined =>
  (job.status as { phase?: string } | undefined)?.phase;

const CHECK_MS = 100;

/** Phase changes as they happen: a log line each, and a call when no TrainingJob is unfinished. */
export class Progress {
  readonly #log: Logger;
  onAllFinished: (() => void) | undefined;
  /** Whether a TrainingJob is not finished, by the status in memory (anyUnfinished). */
  unfinished: (() => boolean) | undefined;
  #check: NodeJS.Timeout | undefined;

  constructor(log: Logger) {
    // A line per phase change (thousands a second under load) names a resource and two phases: no
    // field to redact.
    this.#log = unredacted(log);
  }

  phase(job: AnyResource, from: string | undefined, to: string | undefined): void {
    const conditions = (job.status as { conditions?: { type: string; message: string }[] } | undefined)
      ?.conditions;
    const message = conditions?.[0]?.message;
    const name = `${job.metadata.namespace}/${job.metadata.name}`;
    this.#log.info(
      { resource: `${job.kind}/${name}`, from: from ?? "New", to },
      `${name}: ${from ?? "New"} → ${to}${message ? ` (${message})` : ""}`,
    );
    if (to !== undefined && FINISHED.has(to) && !FINISHED.has(from ?? "")) this.#checkSoon();
  }

  /** Looks for an unfinished job once for all the runs that finished within CHECK_MS. */
  #checkSoon(): void {
    if (this.#check) return;
    this.#check = setTimeout(() => {
      this.#check = undefined;
      if (this.unfinished?.() === false) this.onAllFinished?.();
    }, CHECK_MS);
    this.#check.unref?.();
  }
}

/**
 * Whether a TrainingJob of `resources` is not finished. A full read keeps every job it found
 * unfinished; later checks look at those one after another (each read again, as it is now) and read
 * every job only once none of them is unfinished any more. While runs go on, a check reads a few
 * jobs, not every job: a full read per check was O(jobs) every 100 ms while thousands of runs
 * finished, and a single witness kept from the last read finished within a check or two when runs
 * are short.
 */
export function anyUnfinished(resources: ResourceIndex): () => boolean {
  /** Jobs unfinished at the last full read, not yet found finished; the last listed is looked at first. */
  let candidates: ResourceKey[] = [];
  const unfinished = (job: AnyResource | undefined) =>
    job?.kind === "TrainingJob" && !FINISHED.has(phaseOf(job) ?? "");
  return () => {
    while (candidates.length > 0) {
      if (unfinished(resources.get(candidates[candidates.length - 1] as ResourceKey))) return true;
      candidates.pop();
    }
    candidates = resources
      .list("TrainingJob")
      .filter(unfinished)
      .map((job) => keyOf(job));
    return candidates.length > 0;
  };
}

// What `run` says while it watches: a log line per phase change, and the table again once no
// TrainingJob is unfinished.
import type { Logger } from "pino";
import type { AnyResource } from "../api/resources.ts";

export const FINISHED = new Set(["Succeeded", "Failed"]);
const phaseOf = (job: AnyResource): string | undefined =>
  (job.status as { phase?: string } | undefined)?.phase;

const CHECK_MS = 100;

/** Phase changes as they happen: a log line each, and a call when no TrainingJob is unfinished. */
export class Progress {
  readonly #log: Logger;
  onAllFinished: (() => void) | undefined;
  /** How many TrainingJobs are not finished, by the status in memory. */
  unfinished: (() => number) | undefined;
  #check: NodeJS.Timeout | undefined;

  constructor(log: Logger) {
    this.#log = log;
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

  /**
   * Counts the unfinished jobs once for all the runs that finished within CHECK_MS (a count reads
   * every TrainingJob: once per finished run would cost O(jobs²) when thousands finish together).
   */
  #checkSoon(): void {
    if (this.#check) return;
    this.#check = setTimeout(() => {
      this.#check = undefined;
      if (this.unfinished?.() === 0) this.onAllFinished?.();
    }, CHECK_MS);
    this.#check.unref?.();
  }
}

/** How many of these TrainingJobs are not finished, by their status in memory. */
export function unfinishedJobs(jobs: readonly AnyResource[]): number {
  return jobs.filter((job) => !FINISHED.has(phaseOf(job) ?? "")).length;
}

// Why a Nomad job misses allocations, remembered per job so that it costs no read per reconcile: the
// newest finished evaluation of the job's current version (its FailedTGAllocs), from the event
// stream's Evaluation events or from one read. Nomad does not rewrite an evaluation's failures while
// the job waits (a reblocked evaluation is not written again: scheduler/generic_sched.go
// ReblockEval), so what was seen stays true until the job changes or an allocation is placed.
import type { NomadEvaluation } from "../../clients/nomad/types.ts";

const TERMINAL = new Set(["complete", "failed", "canceled"]);

interface Seen {
  /** JobModifyIndex of the job version the evaluation was made for. */
  readonly jobModifyIndex: number;
  readonly createIndex: number;
  /** Undefined: the evaluation placed everything it could (no failures). */
  readonly evaluation: NomadEvaluation | undefined;
}

export class FailedEvaluations {
  /** namespace/jobId → the newest finished evaluation seen (only jobs waiting for placement). */
  readonly #seen = new Map<string, Seen>();

  /**
   * Remembers a finished evaluation (blocked and pending ones are not answers). Returns true when it
   * carries placement failures and is the newest seen for the job.
   */
  remember(key: string, evaluation: NomadEvaluation, keepClean = false): boolean {
    if (!TERMINAL.has(evaluation.Status)) return false;
    const jobModifyIndex = evaluation.JobModifyIndex ?? 0;
    const known = this.#seen.get(key);
    if (known && (known.jobModifyIndex > jobModifyIndex || known.createIndex > evaluation.CreateIndex))
      return false;
    const failed = Object.keys(evaluation.FailedTGAllocs ?? {}).length > 0;
    if (!failed && !keepClean) {
      this.#seen.delete(key);
      return false;
    }
    this.#seen.set(key, {
      jobModifyIndex,
      createIndex: evaluation.CreateIndex,
      evaluation: failed ? evaluation : undefined,
    });
    return failed;
  }

  /** What is known for this job version: the failed evaluation, none (placed), or not known. */
  known(key: string, jobModifyIndex: number): { evaluation: NomadEvaluation | undefined } | undefined {
    const seen = this.#seen.get(key);
    if (!seen) return undefined;
    if (seen.jobModifyIndex >= jobModifyIndex) return { evaluation: seen.evaluation };
    this.#seen.delete(key);
    return undefined;
  }

  forget(key: string): void {
    this.#seen.delete(key);
  }

  get size(): number {
    return this.#seen.size;
  }
}

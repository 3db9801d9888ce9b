// Which Nomad events only confirm what this operator just wrote, so they do not wake the resource
// for a second reconcile (controller-runtime's generation-changed predicate, for Nomad's stream):
// - the Job events of its own register, not stopped, pending or running, at the JobModifyIndex the
//   register answered with: its JobRegistered, and the PlanResult of the plan that placed it (Nomad
//   writes a job "running" while any allocation of it is not terminal, state_store.go getJobStatus:
//   the placement turns a new job from pending to running, and a register of a job with live
//   allocations, an in-place update or a new run's, writes it "running" at once);
// - a new allocation of that register: pending, desired to run, created at or after that index, not
//   a replacement (no PreviousAllocation), with no task started, restarted or failed (nothing that
//   a TrainingJob's status reads beyond "0 of N replica(s) started").
// Anything else wakes the resource: another register or a stop (another JobModifyIndex, Stop), a
// dead job, an allocation that runs, fails, is stopped or evicted, a task event
// that explains a failure. A register's events may arrive before its answer: they are held until it
// ends, then reported when one of them was more than a confirmation (or when the register failed).
import type { ResourceKey } from "../../api/resources.ts";
import type { NomadJob } from "../../clients/nomad/types.ts";
import type { AllocationView } from "./observe.ts";
import { failureOf } from "./observe.ts";

interface Held {
  readonly key: ResourceKey;
  /** A held event was more than a confirmation, whatever the register answers. */
  news: boolean;
  /** A held allocation had ended (allocationEnded): the key is reported as an ending too. */
  ended: boolean;
  /** JobModifyIndex of each held JobRegistered event that would confirm a register at that index. */
  readonly jobIndexes: Set<number>;
  /** Least CreateIndex of the held allocations that would confirm a register at or before it. */
  allocCreated: number;
}

/**
 * Registers under way (0) or done (their JobModifyIndex), by namespace/jobId, until an event that is
 * news arrives for the job: then its entry goes (bounded by the jobs registered and not woken since).
 */
export class OwnWrites {
  readonly #written = new Map<string, number>();
  readonly #held = new Map<string, Held>();

  /** A register of `where` starts. */
  begin(where: string): void {
    this.#written.set(where, 0);
  }

  /**
   * The register of `where` ended at `jobModifyIndex` (undefined: it failed). Returns the key to
   * report when an event held meanwhile was more than a confirmation of it, and whether one of the
   * held allocations had ended (a run as short as the register's answer is slow).
   */
  end(
    where: string,
    jobModifyIndex: number | undefined,
  ): { readonly key: ResourceKey; readonly ended: boolean } | undefined {
    const held = this.#held.get(where);
    this.#held.delete(where);
    const news = held && { key: held.key, ended: held.ended };
    if (jobModifyIndex === undefined || jobModifyIndex <= 0) {
      this.#written.delete(where);
      return news;
    }
    this.#written.set(where, jobModifyIndex);
    if (!held) return undefined;
    const confirms =
      !held.news &&
      [...held.jobIndexes].every((index) => index === jobModifyIndex) &&
      held.allocCreated >= jobModifyIndex;
    return confirms ? undefined : news;
  }

  forget(where: string): void {
    this.#written.delete(where);
    this.#held.delete(where);
  }

  /** Whether a Job event of an owned job wakes `key` now (false: a confirmation, or held). */
  jobWakes(where: string, key: ResourceKey, type: string, job: NomadJob): boolean {
    const written = this.#written.get(where);
    if (written === undefined) return true;
    const plausible =
      (type === "JobRegistered" || type === "PlanResult") &&
      job.Stop !== true &&
      (job.Status === "pending" || job.Status === "running");
    if (written > 0) return this.#wakes(where, plausible && job.JobModifyIndex === written);
    const held = this.#hold(where, key);
    if (plausible && job.JobModifyIndex !== undefined) held.jobIndexes.add(job.JobModifyIndex);
    else held.news = true;
    return false;
  }

  /** Whether an Allocation event of an owned job wakes `key` now (false: a confirmation, or held). */
  allocWakes(where: string, key: ResourceKey, alloc: AllocationView): boolean {
    const written = this.#written.get(where);
    if (written === undefined) return true;
    const plausible = isQuietNewAlloc(alloc);
    if (written > 0) return this.#wakes(where, plausible && alloc.CreateIndex >= written);
    const held = this.#hold(where, key);
    if (plausible) held.allocCreated = Math.min(held.allocCreated, alloc.CreateIndex);
    else held.news = true;
    if (allocationEnded(alloc)) held.ended = true;
    return false;
  }

  /** After the first event that is news, every later one is too: the register is forgotten. */
  #wakes(where: string, confirms: boolean): boolean {
    if (confirms) return false;
    this.#written.delete(where);
    return true;
  }

  #hold(where: string, key: ResourceKey): Held {
    let held = this.#held.get(where);
    if (!held) {
      held = {
        key,
        news: false,
        ended: false,
        jobIndexes: new Set(),
        allocCreated: Number.POSITIVE_INFINITY,
      };
      this.#held.set(where, held);
    }
    return held;
  }
}

/** Client statuses of an allocation that has ended (nomad/structs: AllocClientStatusComplete, …Failed, …Lost). */
const ENDED = new Set(["complete", "failed", "lost"]);

/** Whether the allocation has ended: it completed, failed or was lost. */
export function allocationEnded(alloc: AllocationView): boolean {
  return ENDED.has(alloc.ClientStatus ?? "");
}

/** Pending, desired to run, not a replacement, and no task started, restarted or failed. */
export function isQuietNewAlloc(alloc: AllocationView): boolean {
  if (alloc.ClientStatus !== "pending" || alloc.DesiredStatus !== "run" || alloc.PreviousAllocation)
    return false;
  for (const state of Object.values(alloc.TaskStates ?? {})) {
    if (state.StartedAt || state.Restarts > 0 || state.Failed || state.State !== "pending") return false;
    if (failureOf(state.Events ?? []) !== undefined) return false;
  }
  return true;
}

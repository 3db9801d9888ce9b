// Server: Nomad 1.9.6 (and 2.0.3 where noted), hashicorp/nomad. Follows: nomad/job_endpoint.go (Register
// check-and-set, Deregister), nomad/state/state_store.go (indexes, namespaces).
// The Nomad double's state: namespaces, jobs with versions, evaluations and allocations, one raft-like
// index with per-table indexes for blocking queries, and the event buffer. Behaves like a Nomad
// server where the operator can see it: registering an unchanged job is a no-op, check-and-set
// conflicts, stop keeps the job (dead, Stop=true), purge removes it (404 afterwards), a new job version
// stops the old version's allocations and places new ones. Node built-ins only.

import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type {
  NomadAllocation,
  NomadAllocationMetric,
  NomadEvaluation,
  NomadEvent,
  NomadJob,
  NomadJobListStub,
} from "../../../src/clients/nomad/types.ts";
import { ByJob } from "./by-job.ts";
import { Cluster } from "./cluster.ts";
import { withServerDefaults } from "./defaults.ts";
import { EventBuffer } from "./event-buffer.ts";
import { jobStatusOf, jobSummary } from "./job-status.ts";
import type { DoubleNode } from "./placement.ts";
import { Submission } from "./submission.ts";
import { destructiveChange } from "./updates.ts";
import { VariableStore } from "./variables.ts";
import { allocEvent, evalEvent, jobEvent, key, newAlloc, newEval, stamp, stub, taskEvent } from "./wire.ts";

export type Table = "jobs" | "allocs" | "evals" | "namespaces";

export class NomadDoubleError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface JobRecord {
  job: NomadJob;
  /** The job as last submitted: an unchanged submission is a no-op. */
  submitted: Submission;
}

export class NomadState {
  readonly namespaces = new Set<string>(["default"]);
  readonly jobs = new Map<string, JobRecord>();
  readonly allocs = new Map<string, NomadAllocation>();
  readonly evals = new Map<string, NomadEvaluation>();
  readonly events: EventBuffer;
  readonly changes = new EventEmitter();
  /** Scripted placement failures per job key (namespace/id). */
  readonly blocked = new Map<string, Record<string, NomadAllocationMetric>>();
  /** The client nodes and the devices their allocations hold. */
  readonly cluster = new Cluster((id) => this.allocs.get(id));
  /** Nomad Variables (variables.ts). */
  readonly variables = new VariableStore(() => this.bump([]));
  /** The server version the double answers as (in-place rules differ between 1.9 and 2.0). */
  version = "1.9.7";
  #index = 1;
  readonly #byJob = new ByJob();
  readonly #tables: Record<Table, number> = { jobs: 1, allocs: 1, evals: 1, namespaces: 1 };
  /** Called with each allocation created by a placement (the executor starts it). */
  onPlaced: (alloc: NomadAllocation) => void = () => {};
  /** Called when an allocation must stop (new version, job stopped or purged). */
  onStop: (alloc: NomadAllocation) => void = () => {};

  constructor(eventBufferSize = 100) {
    this.events = new EventBuffer(eventBufferSize);
    this.changes.setMaxListeners(0);
  }

  get index(): number {
    return this.#index;
  }

  tableIndex(table: Table): number {
    return this.#tables[table];
  }

  /** Advances the index, marks tables changed and publishes the events at that index. */
  bump(tables: readonly Table[], events: (index: number) => Omit<NomadEvent, "Index">[] = () => []): number {
    const index = ++this.#index;
    for (const table of tables) this.#tables[table] = index;
    this.events.publish(
      index,
      events(index).map((e) => ({ ...e, Index: index })),
    );
    for (const table of tables) this.changes.emit(table);
    return index;
  }

  job(namespace: string, id: string): NomadJob | undefined {
    return this.jobs.get(key(namespace, id))?.job;
  }

  /**
   * `owned`: the caller hands `input` over (a request body it parsed) and it becomes the job; else the
   * job is a copy, and the caller's object is left as it was.
   */
  register(
    input: NomadJob,
    cas?: { index: number },
    owned = false,
  ): { job: NomadJob; evalId: string; changed: boolean } {
    const namespace = input.Namespace || "default";
    if (!this.namespaces.has(namespace)) {
      throw new NomadDoubleError(500, `job "${input.ID}" is in nonexistent namespace "${namespace}"`);
    }
    if (!input.ID || /[\s/]/.test(input.ID) || input.ID.includes("\0") || input.ID.length > 128) {
      throw new NomadDoubleError(
        500,
        `1 error occurred:\n\t* Job ID contains a space, null character or slash`,
      );
    }
    const existing = this.jobs.get(key(namespace, input.ID));
    if (cas) {
      if (cas.index === 0 && existing) {
        throw new NomadDoubleError(500, "Enforcing job modify index 0: job already exists");
      }
      if (cas.index > 0 && !existing) {
        throw new NomadDoubleError(500, `Enforcing job modify index ${cas.index}: job does not exist`);
      }
      if (cas.index > 0 && existing && existing.job.JobModifyIndex !== cas.index) {
        throw new NomadDoubleError(
          500,
          `Enforcing job modify index ${cas.index}: job exists with conflicting job modify index: ${existing.job.JobModifyIndex}`,
        );
      }
    }
    const submitted = new Submission({ ...input, Namespace: namespace });
    const changed = !existing?.submitted.same(submitted);
    let job = existing?.job as NomadJob;
    const previous = existing && changed ? structuredClone(existing.job) : undefined;
    const index = changed ? this.#index + 1 : this.#index;
    if (changed) {
      job = withServerDefaults(
        { ...(owned ? input : structuredClone(input)), Namespace: namespace },
        {
          version: existing ? (existing.job.Version ?? 0) + 1 : 0,
          createIndex: existing?.job.CreateIndex ?? index,
          index,
        },
      );
      this.jobs.set(key(namespace, input.ID), { job, submitted });
    }
    const evaluation = this.#evaluate(job, changed ? index : undefined, previous);
    return { job, evalId: evaluation.ID, changed };
  }

  /**
   * Stop (kept as dead, Stop=true) or purge (removed: reads answer 404). An unknown job changes
   * nothing: no evaluation, no index (nomad/job_endpoint.go Deregister returns when the job is nil).
   */
  deregister(namespace: string, id: string, purge: boolean): { evalId: string; index: number } {
    const record = this.jobs.get(key(namespace, id));
    if (!record) return { evalId: "", index: 0 };
    const job = record.job;
    const live = this.jobAllocs(namespace, id).filter((alloc) => alloc.DesiredStatus === "run");
    const index = this.bump(["jobs", "evals"], (i) => {
      // A stop upserts the job (nomad/fsm.go handleJobDeregister → state_store.go upsertJobImpl): a
      // new version whose ModifyIndex and JobModifyIndex are the deregister's index, its status as
      // getJobStatus finds it in that write (running while its allocations are not stopped yet). The
      // event carries the job as that write left it.
      if (!purge) {
        job.Stop = true;
        job.ModifyIndex = i;
        job.JobModifyIndex = i;
        job.Version = (job.Version ?? 0) + 1;
        job.Status = this.jobStatus(job);
      }
      return [jobEvent("JobDeregistered", job)];
    });
    // Then the deregister's evaluation is planned: one write that stops the allocations (PlanResult),
    // the job's status written with it when that changes it; their clients report them complete.
    this.#stopAllocs(live, "alloc not needed since job was stopped", purge ? undefined : job);
    if (purge) {
      this.jobs.delete(key(namespace, id));
      // Allocations stay until garbage collection; they belong to the purged instance of the job.
    } else {
      record.submitted = record.submitted.stopped();
    }
    return { evalId: randomUUID(), index };
  }

  /**
   * Allocations of the job's current instance; with `all`, also those of earlier instances of the same
   * ID (a purged and re-registered job), as `?all=true` answers.
   */
  jobAllocs(namespace: string, id: string, all = false): NomadAllocation[] {
    const instance = this.jobs.get(key(namespace, id))?.job.CreateIndex;
    const out: NomadAllocation[] = [];
    for (const allocId of this.#byJob.allocs(key(namespace, id), instance, all)) {
      const alloc = this.allocs.get(allocId);
      if (alloc) out.push(alloc);
    }
    return out;
  }

  /** Adds an allocation of the job's current instance (or of `sameInstanceAs`'s). */
  addAlloc(alloc: NomadAllocation, sameInstanceAs?: string): void {
    const instance = sameInstanceAs
      ? this.#byJob.instanceOf(sameInstanceAs)
      : this.jobs.get(key(alloc.Namespace, alloc.JobID))?.job.CreateIndex;
    this.allocs.set(alloc.ID, alloc);
    this.#byJob.addAlloc(key(alloc.Namespace, alloc.JobID), alloc.ID, instance ?? 0);
  }

  jobEvals(namespace: string, id: string): NomadEvaluation[] {
    return this.#byJob
      .evals(key(namespace, id))
      .flatMap((evalId) => this.evals.get(evalId) ?? [])
      .sort((a, b) => b.CreateIndex - a.CreateIndex);
  }

  #addEval(evaluation: NomadEvaluation): void {
    this.evals.set(evaluation.ID, evaluation);
    this.#byJob.addEval(key(evaluation.Namespace, evaluation.JobID), evaluation.ID);
  }

  /** The job's list stub (`meta`: with its Meta, as /v1/jobs?meta=true). */
  stub(job: NomadJob, meta: boolean): NomadJobListStub {
    return stub(job, meta, this.summary(job));
  }

  /** The submitted form of a job, to tell an unchanged submission (plan's Diff "None"). */
  unchanged(job: NomadJob): boolean {
    const existing = this.jobs.get(key(job.Namespace || "default", job.ID));
    return (
      existing?.submitted.same(new Submission({ ...job, Namespace: job.Namespace || "default" })) === true
    );
  }

  summary(job: NomadJob) {
    return jobSummary(
      job,
      this.jobAllocs(job.Namespace, job.ID),
      this.placementFailures(job),
      this.tableIndex("allocs"),
    );
  }

  /** Capacity changed (or a scripted block was lifted): blocked evaluations run again, like Nomad's. */
  unblock(): void {
    for (const { job } of [...this.jobs.values()]) {
      if (job.Stop) continue;
      const waiting = this.jobEvals(job.Namespace, job.ID).filter((e) => e.Status === "blocked");
      if (waiting.length === 0 || this.placementFailures(job)) continue;
      for (const evaluation of waiting) evaluation.Status = "complete";
      this.#evaluate(job, this.#index, job);
    }
  }

  /** Recomputes the job's Status from its allocations and evaluations (jobStatus). */
  refreshStatus(job: NomadJob): void {
    job.Status = this.jobStatus(job);
  }

  /** A batch job's Status as Nomad writes it (job-status.ts: jobStatusOf). */
  jobStatus(job: NomadJob, evaluating = false): NonNullable<NomadJob["Status"]> {
    const allocs = this.jobAllocs(job.Namespace, job.ID, true);
    return jobStatusOf(job, allocs, this.jobEvals(job.Namespace, job.ID), evaluating);
  }

  /** Creates an evaluation and, for a changed job, the placement that follows from it. */
  #evaluate(job: NomadJob, changedAt: number | undefined, previous?: NomadJob): NomadEvaluation {
    const failed = this.placementFailures(job);
    const evaluation = newEval(job, "complete", failed);
    const placed: NomadAllocation[] = [];
    const stopped: NomadAllocation[] = [];
    if (changedAt !== undefined && !job.Stop) {
      // Nomad's tasksUpdated (scheduler/util.go) decides: task config, resources, volumes and combined
      // meta replace the allocations (nomad#3100); policies, services, constraints update in place.
      const destructive = !previous || previous.Stop || destructiveChange(previous, job, this.version);
      const kept = new Set<string>();
      for (const alloc of this.jobAllocs(job.Namespace, job.ID)) {
        if (alloc.DesiredStatus !== "run") continue;
        if (destructive) {
          stopped.push(alloc);
          continue;
        }
        if (alloc.ClientStatus === "pending" || alloc.ClientStatus === "running")
          alloc.JobVersion = job.Version ?? 0;
        kept.add(alloc.Name);
      }
      const scheduled = this.cluster.schedule(job, key(job.Namespace, job.ID));
      for (const group of job.TaskGroups) {
        const nodes = scheduled.nodes.get(group.Name);
        if (failed?.[group.Name] || !nodes) continue;
        for (let i = 0; i < group.Count; i++) {
          if (kept.has(`${job.ID}.${group.Name}[${i}]`)) continue;
          const node = nodes[i] ?? (nodes[0] as DoubleNode);
          const alloc = newAlloc(job, group.Name, i, evaluation.ID);
          this.cluster.place(alloc, job, key(job.Namespace, job.ID), node);
          placed.push(alloc);
        }
      }
    }
    const blockedEval = failed ? newEval(job, "blocked", failed) : undefined;
    if (blockedEval) evaluation.BlockedEval = blockedEval.ID;
    // The register writes the job with its evaluation: pending, or running while allocations of it
    // (an earlier version's, to be replaced or updated) are not terminal.
    if (changedAt !== undefined) job.Status = this.jobStatus(job, true);
    this.bump(changedAt !== undefined ? ["jobs", "evals"] : ["evals"], (i) => {
      evaluation.CreateIndex = i;
      evaluation.ModifyIndex = i;
      return [...(changedAt !== undefined ? [jobEvent("JobRegistered", job)] : []), evalEvent(evaluation)];
    });
    // Placed by the evaluation's plan, which Nomad applies in a write of its own (ApplyPlanResults)
    // after the register's: a later index, events "PlanResult". Its allocations are not terminal:
    // the job is running from then on (setJobStatuses writes it in that write when that changes it).
    if (placed.length > 0) {
      const changed = job.Status !== "running";
      this.bump(changed ? ["allocs", "jobs"] : ["allocs"], (i) => {
        if (changed) {
          job.Status = "running";
          job.ModifyIndex = i;
        }
        return [
          ...placed.map((a) => allocEvent(stamp(a, i), "PlanResult")),
          ...(changed ? [jobEvent("PlanResult", job)] : []),
        ];
      });
    }
    this.#addEval(evaluation);
    if (blockedEval) {
      this.bump(["evals"], (i) => {
        blockedEval.CreateIndex = i;
        blockedEval.ModifyIndex = i;
        return [evalEvent(blockedEval)];
      });
      this.#addEval(blockedEval);
    }
    for (const alloc of stopped) this.#stopAlloc(alloc, "alloc not needed due to job update");
    for (const alloc of placed) {
      this.addAlloc(alloc);
      this.onPlaced(alloc);
    }
    this.refreshStatus(job);
    return evaluation;
  }

  /**
   * Two writes, as in Nomad: the plan that stops the allocation (desired status stop: "PlanResult"),
   * then its client's update once the tasks are killed (client status complete: "AllocationUpdated").
   */
  #stopAlloc(alloc: NomadAllocation, description: string): void {
    this.#stopAllocs([alloc], description, undefined);
  }

  /** Allocations stopped by one plan (with `job`, its status written in that write when it changes). */
  #stopAllocs(allocs: readonly NomadAllocation[], description: string, job: NomadJob | undefined): void {
    if (allocs.length === 0) return;
    for (const alloc of allocs) {
      alloc.DesiredStatus = "stop";
      alloc.DesiredDescription = description;
    }
    const before = job?.Status;
    if (job) job.Status = this.jobStatus(job);
    const changed = job !== undefined && job.Status !== before;
    this.bump(changed ? ["allocs", "jobs"] : ["allocs"], (i) => {
      if (changed && job) job.ModifyIndex = i;
      return [
        ...allocs.map((alloc) => allocEvent(stamp(alloc, i), "PlanResult")),
        ...(changed && job ? [jobEvent("PlanResult", job)] : []),
      ];
    });
    for (const alloc of allocs) this.#completeStopped(alloc);
  }

  /** The client's update of a stopped allocation: its tasks killed, the allocation complete. */
  #completeStopped(alloc: NomadAllocation): void {
    if (alloc.ClientStatus === "pending" || alloc.ClientStatus === "running") {
      alloc.ClientStatus = "complete";
      for (const state of Object.values(alloc.TaskStates ?? {})) {
        state.State = "dead";
        state.FinishedAt = new Date().toISOString();
        state.Events = [...(state.Events ?? []), taskEvent("Killed", "Task successfully killed")];
      }
      this.bump(["allocs"], (i) => [allocEvent(stamp(alloc, i))]);
    }
    this.onStop(alloc);
  }

  /** Scripted failures, else the nodes' answer: filtered (missing devices or host volumes) or exhausted. */
  placementFailures(job: NomadJob): Record<string, NomadAllocationMetric> | undefined {
    const scripted = this.blocked.get(key(job.Namespace, job.ID));
    if (scripted) return scripted;
    return this.cluster.schedule(job, key(job.Namespace, job.ID)).failed;
  }
}

// Server: Nomad 1.9.6 (and 2.0.3 where noted), hashicorp/nomad. Follows:
// client/allocrunner/taskrunner/restarts/restarts.go, nomad/structs/structs.go (TaskEvent,
// RescheduleTracker).
// Moves allocations through pending → running → complete/failed the way a Nomad client reports it:
// task events (Started, Terminated with ExitCode and Details.oom_killed, Restarting, Not Restarting,
// Driver Failure), restarts that reuse the allocation under the group's RestartPolicy, reschedules
// that create a new allocation linked by NextAllocation/PreviousAllocation, and the services that the
// allocation declares registered while it runs. Node built-ins only.
import { randomUUID } from "node:crypto";
import type { NomadAllocation, NomadJob, NomadTaskState } from "../../../src/clients/nomad/types.ts";
import type { ServiceRegistrar } from "./services.ts";
import type { NomadState } from "./state.ts";
import { allocEvent, jobEvent, key, stamp, taskEvent } from "./wire.ts";

export interface ExitOptions {
  exitCode: number;
  /** Docker reported the OOM killer (Details.oom_killed = "true"). */
  oom?: boolean;
  /** Skip the remaining restarts: the task fails for good now. */
  exhaust?: boolean;
}

export class Lifecycle {
  readonly #state: NomadState;
  readonly #services: ServiceRegistrar;
  readonly logs = new Map<string, string>();

  constructor(state: NomadState, services: ServiceRegistrar) {
    this.#state = state;
    this.#services = services;
  }

  alloc(id: string): NomadAllocation {
    const alloc = this.#state.allocs.get(id);
    if (!alloc) throw new Error(`Nomad double: no allocation ${id}`);
    return alloc;
  }

  running(id: string): void {
    const alloc = this.alloc(id);
    if (alloc.ClientStatus !== "pending") return;
    const now = new Date().toISOString();
    for (const state of tasks(alloc)) {
      state.State = "running";
      state.StartedAt ??= now;
      push(state, taskEvent("Task Setup", "Building Task Directory"));
      push(state, taskEvent("Started", "Task started by client"));
    }
    alloc.ClientStatus = "running";
    alloc.ClientDescription = "Tasks are running";
    this.#commit(alloc);
    void this.#services.register(alloc, this.#job(alloc));
  }

  /** The task exits: 0 completes the allocation; otherwise restart while the policy allows, then fail. */
  exit(id: string, options: ExitOptions): void {
    const alloc = this.alloc(id);
    if (alloc.ClientStatus !== "running" && alloc.ClientStatus !== "pending") return;
    const message = `Exit Code: ${options.exitCode}${options.oom ? ', Exit Message: "OOM Killed"' : ""}`;
    for (const state of tasks(alloc)) {
      push(
        state,
        taskEvent("Terminated", message, {
          exitCode: options.exitCode,
          signal: 0,
          oomKilled: options.oom ?? false,
        }),
      );
    }
    if (options.exitCode === 0) {
      this.#finish(alloc, "complete", false);
      return;
    }
    this.#failOrRestart(alloc, options.exhaust ?? false, "Restart within policy");
  }

  /** The driver cannot start the task (image pull failure, say): restarts as a failed start. */
  driverFailure(id: string, driverError: string, exhaust = true): void {
    const alloc = this.alloc(id);
    for (const state of tasks(alloc)) {
      push(state, taskEvent("Driver Failure", driverError, { driverError }));
    }
    this.#failOrRestart(alloc, exhaust, "Restart within policy");
  }

  lost(id: string): void {
    const alloc = this.alloc(id);
    alloc.ClientStatus = "lost";
    alloc.ClientDescription = "alloc is lost since its node is down";
    alloc.DesiredStatus = "stop";
    this.#commit(alloc);
    void this.#services.deregister(alloc, this.#job(alloc));
  }

  appendLog(id: string, task: string, text: string): void {
    const k = `${id}/${task}`;
    this.logs.set(k, (this.logs.get(k) ?? "") + text);
    this.#state.changes.emit("logs", k);
  }

  #failOrRestart(alloc: NomadAllocation, exhaust: boolean, reason: string): void {
    const group = this.#job(alloc)?.TaskGroups.find((g) => g.Name === alloc.TaskGroup);
    const attempts = group?.RestartPolicy?.Attempts ?? 3;
    const states = tasks(alloc);
    const restarts = states[0]?.Restarts ?? 0;
    if (!exhaust && restarts < attempts) {
      for (const state of states) {
        state.Restarts++;
        state.LastRestart = new Date().toISOString();
        push(
          state,
          taskEvent("Restarting", `Task restarting in 15s`, { restartReason: reason, restartDelayNs: 15e9 }),
        );
        push(state, taskEvent("Started", "Task started by client"));
        state.State = "running";
      }
      alloc.ClientStatus = "running";
      this.#commit(alloc);
      return;
    }
    const interval = "24h0m0s";
    const exceeded = `Exceeded allowed attempts ${attempts} in interval ${interval} and mode is "fail"`;
    for (const state of states) {
      push(state, taskEvent("Not Restarting", exceeded, { restartReason: exceeded, failsTask: true }));
    }
    this.#finish(alloc, "failed", true);
    this.#maybeReschedule(alloc);
  }

  #finish(alloc: NomadAllocation, status: "complete" | "failed", failed: boolean): void {
    const now = new Date().toISOString();
    for (const state of tasks(alloc)) {
      state.State = "dead";
      state.Failed = failed;
      state.FinishedAt = now;
    }
    alloc.ClientStatus = status;
    alloc.ClientDescription = status === "complete" ? "All tasks have completed" : "Failed tasks";
    this.#commit(alloc);
    void this.#services.deregister(alloc, this.#job(alloc));
  }

  #maybeReschedule(alloc: NomadAllocation): void {
    const job = this.#job(alloc);
    const policy = job?.TaskGroups.find((g) => g.Name === alloc.TaskGroup)?.ReschedulePolicy;
    if (!job || job.Stop || alloc.JobVersion !== job.Version || !policy) return;
    let previous = 0;
    for (let a = alloc; a.PreviousAllocation; previous++) {
      const p = this.#state.allocs.get(a.PreviousAllocation);
      if (!p) break;
      a = p;
    }
    if (!policy.Unlimited && previous >= policy.Attempts) return;
    const next = structuredClone(alloc);
    next.ID = randomUUID();
    next.PreviousAllocation = alloc.ID;
    next.NextAllocation = "";
    next.ClientStatus = "pending";
    next.ClientDescription = "No tasks have started";
    next.DesiredStatus = "run";
    next.CreateIndex = 0;
    next.TaskStates = Object.fromEntries(
      Object.keys(alloc.TaskStates ?? {}).map((t) => [
        t,
        {
          State: "pending",
          Failed: false,
          Restarts: 0,
          StartedAt: null,
          FinishedAt: null,
          LastRestart: null,
          Events: [taskEvent("Received", "Task received by client")],
        } satisfies NomadTaskState,
      ]),
    );
    alloc.NextAllocation = next.ID;
    this.#state.addAlloc(next, alloc.ID);
    this.#commit(alloc);
    this.#commit(next);
    this.#state.onPlaced(next);
  }

  #job(alloc: NomadAllocation): NomadJob | undefined {
    return this.#state.jobs.get(key(alloc.Namespace, alloc.JobID))?.job;
  }

  #commit(alloc: NomadAllocation): void {
    const job = this.#job(alloc);
    const before = job?.Status;
    if (job) this.#state.refreshStatus(job);
    const jobChanged = job !== undefined && job.Status !== before;
    this.#state.bump(jobChanged ? ["allocs", "jobs"] : ["allocs"], (i) => {
      // The job's status changed by a client's update of its allocation: the Job event of that write
      // is "AllocationUpdated" (nomad/state/events.go: a write's type goes to every table it changed;
      // setJobStatus in state_store.go writes the job only when its status changed, with ModifyIndex
      // this index and JobModifyIndex as it was).
      if (jobChanged && job) job.ModifyIndex = i;
      return [
        allocEvent(stamp(alloc, i)),
        ...(jobChanged && job ? [jobEvent("AllocationUpdated", job)] : []),
      ];
    });
  }
}

function tasks(alloc: NomadAllocation): NomadTaskState[] {
  return Object.values(alloc.TaskStates ?? {});
}

function push(state: NomadTaskState, event: ReturnType<typeof taskEvent>): void {
  state.Events = [...(state.Events ?? []), event].slice(-10);
}

// The TrainingJob reconciler: observe → decide (pure) → apply → status (pure), one status write per
// reconcile. It never sleeps or loops: timers (deadline, startup timeout, TTL) come back as requeues.

import { type Condition, findCondition } from "../api/conditions.ts";
import { InvalidSpecError, isTerminal, messageOf, reasonOf } from "../api/errors.ts";
import { isoTime } from "../api/iso-time.ts";
import { keyOf, parseKey, type ResourceKey, type TrainingJob } from "../api/resources.ts";
import { type Action, awaitChange, type Reconciler, requeue } from "../controller/reconcile.ts";
import { annotationFailures, gpuSeconds, runDuration, timeToRunning } from "../observability/metrics.ts";
import type { ObservedRun, Scheduler } from "../scheduler/port.ts";
import type { ResolvedSecrets } from "../secrets/index.ts";
import { apply } from "./apply.ts";
import { attemptsAfter } from "./attempts.ts";
import type { TrainingJobContext } from "./context.ts";
import type { Decision, RunRecord } from "./decide.ts";
import { GpuAccounting } from "./gpu-accounting.ts";
import { isFinished } from "./model.ts";
import { jobKey, planRun, type RunPlan } from "./plan-run.ts";
import type { ProgressReader, RunAnnotator, RunProgress } from "./ports.ts";
import { admission, type QueueState } from "./queueing.ts";
import { type StatusInput, statusFrom } from "./status.ts";

const ANNOTATION_RETRY_MS = 30_000;
const WAITING_FOR_STACK_RETRY_MS = 15_000;
const NOT_OWNED_RETRY_MS = 5 * 60_000;
/** A running run with a metrics endpoint is looked at this often for its progress. */
export const PROGRESS_POLL_MS = 15_000;

export class TrainingJobReconciler implements Reconciler<TrainingJob, TrainingJobContext> {
  readonly kind = "TrainingJob" as const;
  readonly #gpus = new GpuAccounting();

  async reconcile(job: TrainingJob, ctx: TrainingJobContext): Promise<Action> {
    const now = ctx.clock.now();
    const revision = ctx.revision();
    const recorded = job.status?.run;
    const choice = ctx.schedulers.resolve(job, ctx.resources);
    if ("blocker" in choice) {
      await this.#write(ctx, {
        job,
        now,
        revision,
        blocker: choice.blocker,
        ...(recorded ? { run: recorded } : {}),
      });
      return choice.blocker.stalled ? awaitChange : requeue(WAITING_FOR_STACK_RETRY_MS);
    }
    const scheduler = choice.scheduler;
    const annotator = choice.annotator ?? ctx.annotator;
    const healthPort = choice.health ?? ctx.health;
    const progressPort = choice.progress ?? ctx.progress;
    const where = { name: scheduler.name, target: scheduler.target };

    let secrets: ResolvedSecrets | undefined;
    let plan: RunPlan;
    try {
      secrets = await resolveSecrets(job, ctx);
      plan = await planRun(job, scheduler, {
        ownerId: ctx.ownerId,
        now,
        startupTimeoutMs: ctx.startupTimeoutMs,
        secrets,
      });
    } catch (error) {
      await this.#blocked(ctx, job, now, revision, error, recorded);
      throw error;
    }
    const { observed, hashes, request } = plan;
    if (plan.decision.notOwned) {
      const decision = plan.decision;
      await this.#write(ctx, { job, now, revision, decision, ...(recorded ? { run: recorded } : {}) });
      return requeue(NOT_OWNED_RETRY_MS);
    }
    // Queued: nothing is registered until the queue admits the run; its release wakes this job.
    const queue = admission(job, ctx.queues, plan.decision, observed, now);
    const decision = queue?.preempt ?? plan.decision; // preempted: the run stops, its attempt ends
    if (queue?.waiting && !queue.preempt) {
      await this.#write(ctx, { job, now, revision, queue, ...(recorded ? { run: recorded } : {}) });
      return awaitChange;
    }

    let written: string | undefined;
    try {
      written = await apply(scheduler, decision, request, ctx, keyOf(job));
    } catch (error) {
      // An admitted run the scheduler refused still holds its queue's quota: its status says so.
      await this.#blocked(ctx, job, now, revision, error, recorded, queue);
      throw error;
    }

    const run = runRecord(decision, recorded, observed, hashes.runSpecHash, now, written);
    this.#accountGpus(job, run, observed, now);
    if (decision.outcome && !recorded?.outcome && run.outcome) this.#finished(job, run, scheduler);
    // No job of any run before this submit: the run's annotation cannot exist yet (posted after a submit).
    const fresh = decision.newRun && observed === undefined && decision.step.op === "submit";
    const annotationPending = await annotate(ctx, annotator, job, run, fresh);
    const health = job.spec.metrics ? healthPort?.health(keyOf(job)) : undefined;
    const healthError = job.spec.metrics ? healthPort?.lastError : undefined;
    const polling = job.spec.metrics !== undefined && !decision.outcome && isRunning(observed);
    const progress = polling && observed ? await readProgress(ctx, progressPort, job, observed) : undefined;
    await this.#write(ctx, {
      job,
      now,
      revision,
      scheduler: where,
      decision,
      run,
      ...(health ? { health } : {}),
      ...(healthError ? { healthError: { reason: healthError.reason, message: healthError.message } } : {}),
      ...(progress ? { progress } : {}),
      ...(queue ? { queue } : {}),
    });

    if (annotationPending) return requeue(ANNOTATION_RETRY_MS);
    const wake = polling
      ? Math.min(decision.wakeInMs ?? Number.POSITIVE_INFINITY, ctx.progressIntervalMs ?? PROGRESS_POLL_MS)
      : decision.wakeInMs;
    return wake === undefined ? awaitChange : requeue(wake);
  }

  async finalize(
    key: ResourceKey,
    lastKnown: TrainingJob | undefined,
    ctx: TrainingJobContext,
  ): Promise<Action | "done"> {
    const parts = jobKey(key);
    const recorded = lastKnown?.status?.run;
    const schedulers = new Set<Scheduler>();
    if (recorded?.scheduler && recorded.target) {
      const placed = ctx.schedulers.byTarget(recorded.scheduler, recorded.target);
      if (placed) schedulers.add(placed);
    }
    if (lastKnown) {
      const choice = ctx.schedulers.resolve(lastKnown, ctx.resources);
      if ("scheduler" in choice) schedulers.add(choice.scheduler);
    }
    // Nothing recorded (a run killed between its register and its status write): where a job
    // without stackRef runs. Another owner's object there is not ours to purge.
    const guessed = schedulers.size === 0 ? defaultScheduler(key, ctx) : undefined;
    if (guessed) schedulers.add(guessed);
    this.#gpus.forget(key);
    for (const scheduler of schedulers) {
      try {
        await scheduler.purge(parts);
      } catch (error) {
        if (scheduler === guessed && reasonOf(error) === "NotOwned") continue;
        throw error;
      }
      ctx.recorder.event(
        key,
        "Normal",
        "Deleted",
        `removed the run's objects from ${scheduler.name} ${scheduler.target}`,
      );
    }
    ctx.queues?.forget(key);
    return "done";
  }

  async #write(ctx: TrainingJobContext, input: StatusInput): Promise<void> {
    const status = statusFrom(input);
    const before = input.job.status;
    const ready = status.conditions?.find((c) => c.type === "Ready");
    // A failure waiting for its retry is told each time, whether the attempt had run or not.
    const backingOff =
      ready?.reason === "RetryBackoff" &&
      findCondition(before?.conditions as Condition[] | undefined, "Ready")?.reason !== "RetryBackoff";
    if (before?.phase !== status.phase || backingOff) {
      // A failure waiting for its retry (RetryBackoff) warns, as kubelet's BackOff does.
      const warning =
        status.phase === "Failed" ||
        (status.phase === "Pending" &&
          (input.blocker !== undefined || input.decision?.backoff !== undefined));
      ctx.recorder.event(
        keyOf(input.job),
        warning ? "Warning" : "Normal",
        ready?.reason ?? status.phase ?? "Unknown",
        `${before?.phase ?? "New"} → ${status.phase}${ready?.message ? `: ${ready.message}` : ""}`,
      );
      const submitted = status.run?.startTime;
      if (before?.phase === "Pending" && status.phase === "Running" && submitted) {
        timeToRunning.observe(
          { namespace: input.job.metadata.namespace, scheduler: input.scheduler?.name ?? "unknown" },
          Math.max(0, (input.now.getTime() - Date.parse(submitted)) / 1000),
        );
      }
    }
    await ctx.status.write(input.job, status);
  }

  async #blocked(
    ctx: TrainingJobContext,
    job: TrainingJob,
    now: Date,
    revision: string | undefined,
    error: unknown,
    recorded: RunRecord | undefined,
    queue?: QueueState,
  ): Promise<void> {
    if (recorded?.outcome && isFinished(recorded.outcome)) return; // a finished run stays as it was
    const reason = reasonOf(error);
    const blocker = {
      reason,
      message: messageOf(error),
      stalled: isTerminal(error),
      unavailable: schedulerUnavailable(reason),
    };
    await this.#write(ctx, {
      job,
      now,
      revision,
      blocker,
      ...(recorded ? { run: recorded } : {}),
      ...(queue ? { queue } : {}),
    });
  }

  #accountGpus(job: TrainingJob, run: RunRecord, observed: ObservedRun | undefined, now: Date): void {
    const gpus = job.spec.resources.gpus;
    if (!gpus || !run.id) return;
    const seconds = this.#gpus.observe({
      key: keyOf(job),
      runId: run.id,
      gpusPerReplica: gpus,
      runningReplicas:
        observed?.runId === run.id ? observed.replicas.filter((r) => r.state === "running").length : 0,
      at: run.completionTime ? Math.min(Date.parse(run.completionTime), now.getTime()) : now.getTime(),
      finished: run.outcome !== undefined,
    });
    if (seconds > 0) gpuSeconds.inc({ namespace: job.metadata.namespace }, seconds);
  }

  #finished(job: TrainingJob, run: RunRecord, scheduler: Scheduler): void {
    if (!run.startTime || !run.completionTime || !run.outcome) return;
    const seconds = (Date.parse(run.completionTime) - Date.parse(run.startTime)) / 1000;
    runDuration.observe(
      { namespace: job.metadata.namespace, outcome: run.outcome, scheduler: scheduler.name },
      seconds,
    );
  }
}

/**
 * The run record after apply: recorded facts are kept; new facts (start, outcome) are added once.
 * The scheduler's version is the one its write answered, else the one observed (of this run).
 */
function runRecord(
  decision: Decision,
  recorded: RunRecord | undefined,
  observed: ObservedRun | undefined,
  runSpec: string,
  now: Date,
  written: string | undefined,
): RunRecord {
  const same = recorded?.id === decision.runId ? recorded : undefined;
  const record: RunRecord = same
    ? { ...same }
    : {
        id: decision.runId,
        generation: decision.runGeneration,
        specHash: runSpec,
        startTime: (!decision.newRun && observed?.startTime) || isoTime(now),
      };
  if (decision.step.op === "submit" && decision.step.why === "resume") record.startTime = isoTime(now);
  record.attempts = attemptsAfter(same?.attempts, decision, now);
  const version = written ?? (observed?.runId === decision.runId ? observed.version : undefined);
  if (version !== undefined) record.schedulerVersion = version;
  else if (decision.step.op !== "none") delete record.schedulerVersion; // written, version unknown
  if (decision.outcome && !record.outcome) {
    record.outcome = decision.outcome.outcome;
    record.reason = decision.outcome.reason;
    record.message = decision.outcome.message;
    const finishedAt = decision.current?.replicas
      .map((r) => r.finishedAt)
      .filter((t): t is string => t !== undefined);
    record.completionTime = finishedAt?.sort().at(-1) ?? isoTime(now);
  }
  return record;
}

/** Grafana never blocks or fails a run: failures are counted and retried later. Returns true to retry. */
async function annotate(
  ctx: TrainingJobContext,
  annotator: RunAnnotator | undefined,
  job: TrainingJob,
  run: RunRecord,
  fresh: boolean,
): Promise<boolean> {
  if (!annotator || !run.id || !run.startTime) return false;
  const base = {
    key: keyOf(job),
    runId: run.id,
    startTime: Date.parse(run.startTime),
    text: `TrainingJob ${job.metadata.namespace}/${job.metadata.name} run ${run.id} (${job.spec.image})`,
  };
  try {
    if (run.annotationId === undefined) run.annotationId = await annotator.started({ ...base, fresh });
    if (run.outcome && !run.annotationClosed) {
      await annotator.finished({
        ...base,
        id: run.annotationId,
        endTime: Date.parse(run.completionTime ?? new Date().toISOString()),
        outcome: run.outcome,
        ...(run.reason ? { reason: run.reason } : {}),
      });
      run.annotationClosed = true;
    }
    return false;
  } catch (error) {
    annotationFailures.inc({ reason: reasonOf(error) });
    ctx.log.warn(
      { key: keyOf(job), reason: reasonOf(error), err: messageOf(error) },
      "grafana annotation failed; will retry",
    );
    return true;
  }
}

function isRunning(observed: ObservedRun | undefined): observed is ObservedRun {
  return observed?.replicas.some((r) => r.state === "running") ?? false;
}

/** Progress never blocks or fails a run: a source that cannot be read leaves status.progress as it was. */
async function readProgress(
  ctx: TrainingJobContext,
  reader: ProgressReader | undefined,
  job: TrainingJob,
  observed: ObservedRun,
): Promise<RunProgress | undefined> {
  if (!reader || !job.spec.metrics) return undefined;
  const addresses = observed.replicas
    .filter((r) => r.state === "running" && r.address)
    .map((r) => r.address as string);
  try {
    return await reader.read({
      key: keyOf(job),
      namespace: job.metadata.namespace,
      name: job.metadata.name,
      addresses,
      path: job.spec.metrics.path ?? "/metrics",
    });
  } catch (error) {
    ctx.log.debug({ key: keyOf(job), reason: reasonOf(error), err: messageOf(error) }, "progress not read");
    return undefined;
  }
}

/** The job's valueFrom values, or undefined when it references none. */
async function resolveSecrets(
  job: TrainingJob,
  ctx: TrainingJobContext,
): Promise<ResolvedSecrets | undefined> {
  if (ctx.secrets) return ctx.secrets.resolve(job);
  const i = (job.spec.env ?? []).findIndex((e) => e.valueFrom);
  if (i < 0) return undefined;
  throw new InvalidSpecError(
    [{ path: ["spec", "env", i, "valueFrom"], message: "the operator resolves no secret references" }],
    `${keyOf(job)} spec.env[${i}].valueFrom: the operator runs without --secrets-dir or a Kubernetes source`,
  );
}

/** The scheduler a job of this key without stackRef would run on, if one is configured. */
function defaultScheduler(key: ResourceKey, ctx: TrainingJobContext): Scheduler | undefined {
  const { namespace, name } = parseKey(key);
  const bare = {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingJob",
    metadata: { namespace, name },
    spec: {},
  };
  const choice = ctx.schedulers.resolve(bare as unknown as TrainingJob, ctx.resources);
  return "scheduler" in choice ? choice.scheduler : undefined;
}

/** Reasons that mean the scheduler did not answer (unreachable, or a server-side error). */
const UNAVAILABLE_REASONS = new Set(["NomadUnavailable", "DockerUnavailable", "NomadError"]);

function schedulerUnavailable(reason: string): boolean {
  return UNAVAILABLE_REASONS.has(reason);
}

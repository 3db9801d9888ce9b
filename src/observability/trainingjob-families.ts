// The per-TrainingJob series computed at scrape time from each job's status (metrics.ts registers
// them as resource families): one series {namespace, name} per job that has a value, and a job that
// goes takes its series with it.
import { findCondition } from "../api/conditions.ts";
import type { TrainingJob } from "../api/resources.ts";
import type { ResourceFamilyOptions } from "./resource-families.ts";

/** A family of one series per TrainingJob: `value` of the job, or undefined for none. */
function perJob(
  name: string,
  help: string,
  value: (job: TrainingJob) => number | undefined,
): ResourceFamilyOptions {
  return {
    name,
    help,
    labelNames: ["namespace", "name"],
    kinds: ["TrainingJob"],
    series(r, labels) {
      const v = value(r as TrainingJob);
      if (v === undefined) return undefined;
      labels[0] = r.metadata.namespace;
      labels[1] = r.metadata.name;
      return v;
    },
  };
}

/** status.progress.ratio of each TrainingJob that has one (every scheduler, not only a stack's runs). */
export const TRAINING_JOB_PROGRESS = perJob(
  "mlops_trainingjob_progress_ratio",
  "Progress of a TrainingJob's current run as in status.progress.ratio (0 to 1)",
  (job) => {
    const ratio: unknown = job.status?.progress?.ratio;
    return typeof ratio === "number" ? ratio : undefined;
  },
);

/** 1 for each TrainingJob whose ProgressStalled condition is True. */
export const TRAINING_JOB_PROGRESS_STALLED = perJob(
  "mlops_trainingjob_progress_stalled",
  "1 while a TrainingJob's ProgressStalled condition is True (no progress for spec.progressDeadlineSeconds)",
  (job) => (findCondition(job.status?.conditions, "ProgressStalled")?.status === "True" ? 1 : undefined),
);

/**
 * The current run's failed attempts charged to a budget (status.run.attempts: not those a queue
 * preempted), for each TrainingJob with one: kube-state-metrics' container restarts for a run. A new
 * run starts from none; a job without a failure has no series.
 */
export const TRAINING_JOB_FAILED_ATTEMPTS = perJob(
  "mlops_trainingjob_failed_attempts",
  "Failed attempts of a TrainingJob's current run (charged to backoffLimit or infraRetryLimit)",
  (job) => {
    const attempts = job.status?.run?.attempts;
    if (attempts === undefined) return undefined; // no empty list made per job and scrape
    let failed = 0;
    for (const a of attempts) {
      if (a.counted !== undefined && a.completionTime !== undefined && a.preemptedBy === undefined) failed++;
    }
    return failed === 0 ? undefined : failed;
  },
);

// Every metric the operator exposes, declared once and registered once, with controller-runtime's
// names so existing dashboards work, plus the operator's own (prefix mlops_).
import { Counter, collectDefaultMetrics, Gauge, Histogram, type Metric } from "prom-client";
import { findCondition } from "../api/conditions.ts";
import type { AnyResource, Kind } from "../api/resources.ts";
import { ResourceFamily, TextRegistry } from "./resource-families.ts";
import {
  TRAINING_JOB_FAILED_ATTEMPTS,
  TRAINING_JOB_PROGRESS,
  TRAINING_JOB_PROGRESS_STALLED,
} from "./trainingjob-families.ts";

/** Each kind's resources as first listed in this turn of the event loop, or in the scrapes under way. */
const listed = new Map<Kind, readonly AnyResource[]>();
let scrapes = 0;

/** The operator's registry: while a scrape's text is made, each kind is listed once for it. */
export const registry = new (class extends TextRegistry {
  override async *pieces(take?: () => Buffer): AsyncGenerator<string | Uint8Array> {
    scrapes++;
    try {
      yield* super.pieces(take);
    } finally {
      if (--scrapes === 0) listed.clear();
    }
  }
})();
// Node's event loop delay histogram (nodejs_eventloop_lag_*) samples on a timer: prom-client's 10 ms
// woke an idle operator 100 times a second, most of its idle CPU here (docs/benchmarks.md, round
// 14). Every 100 ms still catches any stall longer than that, and most shorter ones.
collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });

const registers = [registry];

// controller-runtime (pkg/internal/controller/metrics, pkg/metrics/workqueue.go)
export const reconcileTotal = new Counter({
  name: "controller_runtime_reconcile_total",
  help: "Total number of reconciliations per controller",
  labelNames: ["controller", "result"] as const,
  registers,
});
export const reconcileErrors = new Counter({
  name: "controller_runtime_reconcile_errors_total",
  help: "Total number of reconciliation errors per controller, by reason and class (transient, stalled)",
  labelNames: ["controller", "reason", "class"] as const,
  registers,
});
export const reconcileTime = new Histogram({
  name: "controller_runtime_reconcile_time_seconds",
  help: "Length of time per reconciliation per controller",
  labelNames: ["controller"] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers,
});
export const activeWorkers = new Gauge({
  name: "controller_runtime_active_workers",
  help: "Number of currently used workers per controller",
  labelNames: ["controller"] as const,
  registers,
});
// client-go's leaderelection metrics as controller-runtime registers them (pkg/metrics/leaderelection.go)
export const leaderElectionMasterStatus = new Gauge({
  name: "leader_election_master_status",
  help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease.",
  labelNames: ["name"] as const,
  registers,
});
export const maxConcurrentReconciles = new Gauge({
  name: "controller_runtime_max_concurrent_reconciles",
  help: "Maximum number of concurrent reconciles per controller",
  labelNames: ["controller"] as const,
  registers,
});

const queueBuckets = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10, 100, 1000];
export const workqueueDepth = new Gauge({
  name: "workqueue_depth",
  help: "Current depth of workqueue",
  labelNames: ["name"] as const,
  registers,
});
export const workqueueAdds = new Counter({
  name: "workqueue_adds_total",
  help: "Total number of adds handled by workqueue",
  labelNames: ["name"] as const,
  registers,
});
export const workqueueQueueDuration = new Histogram({
  name: "workqueue_queue_duration_seconds",
  help: "How long in seconds an item stays in workqueue before being requested",
  labelNames: ["name"] as const,
  buckets: queueBuckets,
  registers,
});
export const workqueueWorkDuration = new Histogram({
  name: "workqueue_work_duration_seconds",
  help: "How long in seconds processing an item from workqueue takes",
  labelNames: ["name"] as const,
  buckets: queueBuckets,
  registers,
});
export const workqueueRetries = new Counter({
  name: "workqueue_retries_total",
  help: "Total number of retries handled by workqueue",
  labelNames: ["name"] as const,
  registers,
});
export const workqueueUnfinishedWork = new Gauge({
  name: "workqueue_unfinished_work_seconds",
  help: "How many seconds of work has been done that is in progress and hasn't been observed by work_duration",
  labelNames: ["name"] as const,
  registers,
});
export const workqueueLongestRunning = new Gauge({
  name: "workqueue_longest_running_processor_seconds",
  help: "How many seconds has the longest running processor for workqueue been running",
  labelNames: ["name"] as const,
  registers,
});

// The operator's own
/**
 * TrainingJobs by namespace and the phase their status records, counted from the source at scrape
 * time (as kube-state-metrics counts from its informers): a restarted operator counts the jobs it
 * has not written to yet, and a deleted job takes its count with it. A job with no phase yet (never
 * reconciled) and one whose document is invalid are not counted, as mlops_resource_info lists them.
 */
export const trainingJobs = new Gauge({
  name: "mlops_trainingjobs",
  help: "TrainingJobs by namespace and phase",
  labelNames: ["namespace", "phase"] as const,
  registers,
  collect() {
    this.reset();
    // A count per namespace and phase first: a set per job would hash its labels 10,000 times.
    const counts = new Map<string, Map<string, number>>();
    for (const r of resourcesOf("TrainingJob")) {
      const phase = (r.status as { phase?: string } | undefined)?.phase;
      if (r.kind !== "TrainingJob" || !phase) continue;
      const phases = counts.get(r.metadata.namespace) ?? new Map<string, number>();
      if (phases.size === 0) counts.set(r.metadata.namespace, phases);
      phases.set(phase, (phases.get(phase) ?? 0) + 1);
    }
    for (const [namespace, phases] of counts)
      for (const [phase, count] of phases) this.set({ namespace, phase }, count);
  },
});
export const runDuration = new Histogram({
  name: "mlops_trainingjob_run_duration_seconds",
  help: "Duration of finished training runs, from start to completion",
  labelNames: ["namespace", "outcome", "scheduler"] as const,
  buckets: [1, 10, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400],
  registers,
});
export const timeToRunning = new Histogram({
  name: "mlops_trainingjob_time_to_running_seconds",
  help: "Time from a run's submission (or resume) to all its replicas running",
  labelNames: ["namespace", "scheduler"] as const,
  buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200],
  registers,
});
export const stackComponents = new Gauge({
  name: "mlops_stack_component_ready",
  help: "1 when a stack component is running and healthy",
  labelNames: ["namespace", "stack", "component"] as const,
  registers,
});
export const externalRequests = new Counter({
  name: "mlops_external_requests_total",
  help: "Requests to Nomad, Consul, Grafana and Docker by endpoint and outcome (HTTP code, or 'error')",
  labelNames: ["system", "endpoint", "code"] as const,
  registers,
});
export const externalRequestDuration = new Histogram({
  name: "mlops_external_request_duration_seconds",
  help: "Latency of requests to Nomad, Consul, Grafana and Docker",
  labelNames: ["system", "endpoint"] as const,
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
  registers,
});
export const annotationFailures = new Counter({
  name: "mlops_grafana_annotation_failures_total",
  help: "Grafana annotation writes that failed (retried with backoff; never block a run)",
  labelNames: ["reason"] as const,
  registers,
});
export const watchRestarts = new Counter({
  name: "mlops_watch_restarts_total",
  help: "Restarts of watches (event streams, blocking queries, informers) by source and cause",
  labelNames: ["watch", "cause"] as const,
  registers,
});
export const sourceInvalidDocuments = new Gauge({
  name: "mlops_source_invalid_documents",
  help: "Documents in the source that fail to parse or validate, and unreadable entries",
  registers,
});
export const sourcePrunesHeldBack = new Gauge({
  name: "mlops_source_prunes_held_back",
  help: "Resources whose prune the last full read held back: mass prune (awaiting --allow-mass-prune) or unreadable entries",
  labelNames: ["reason"] as const,
  registers,
});
export const dependencyUp = new Gauge({
  name: "mlops_dependency_up",
  help: "1 when a server the operator needs (Nomad, Docker, Consul, Grafana) answered its last probe",
  labelNames: ["dependency"] as const,
  registers,
});

/** GPUs held by running replicas × seconds, counted while runs are observed running (from the operator's start). */
export const gpuSeconds = new Counter({
  name: "mlops_gpu_seconds_total",
  help: "GPU-seconds used by training runs (GPUs per replica × running replicas × time), by namespace",
  labelNames: ["namespace"] as const,
  registers,
});

let resourcesOf: (kind: Kind) => readonly AnyResource[] = () => [];

/** A family with one series per resource, registered with the operator's registry. */
function resourceFamily(options: ConstructorParameters<typeof ResourceFamily>[0]): ResourceFamily {
  const family = new ResourceFamily(options);
  registry.registerMetric(family as unknown as Metric);
  return family;
}

/**
 * Like Flux's gotk_resource_info: one series per resource the source holds, with its Ready status,
 * phase and reason, computed at scrape time from the resources themselves, so a resource that goes
 * takes its series with it.
 */
export const resourceInfo = resourceFamily({
  name: "mlops_resource_info",
  help: "One series per resource: its kind, namespace, name, Ready status, phase and Ready reason (value 1)",
  labelNames: ["kind", "namespace", "name", "ready", "phase", "reason"],
  kinds: ["MlopsStack", "TrainingJob", "TrainingQueue"],
  series(resource, labels) {
    const status = resource.status as { phase?: string; conditions?: never } | undefined;
    const ready = findCondition(status?.conditions, "Ready");
    labels[0] = resource.kind;
    labels[1] = resource.metadata.namespace;
    labels[2] = resource.metadata.name;
    labels[3] = ready?.status ?? "Unknown";
    labels[4] = status?.phase ?? "";
    labels[5] = ready?.reason ?? "";
    return 1;
  },
});

/** Per TrainingJob, from its status: progress, a stalled progress, failed attempts (trainingjob-families.ts). */
export const [trainingJobProgress, trainingJobProgressStalled, trainingJobFailedAttempts] = [
  TRAINING_JOB_PROGRESS,
  TRAINING_JOB_PROGRESS_STALLED,
  TRAINING_JOB_FAILED_ATTEMPTS,
].map(resourceFamily) as [ResourceFamily, ResourceFamily, ResourceFamily];

/**
 * Where the per-resource families and the queue gauges find each kind's resources (the composition
 * root passes its source's list). A kind is listed once for a scrape, and once for a turn of the
 * event loop outside one: three families of TrainingJobs listed them three times, each list alive
 * (and so promoted) while its family was written (80 KB at 10,000; docs/benchmarks.md, round 27).
 */
export function observeResources(list: (kind: Kind) => readonly AnyResource[]): void {
  listed.clear();
  resourcesOf = (kind) => {
    let found = listed.get(kind);
    if (found === undefined) {
      found = list(kind);
      if (listed.size === 0 && scrapes === 0) queueMicrotask(() => scrapes === 0 && listed.clear());
      listed.set(kind, found);
    }
    return found;
  };
  for (const family of [
    resourceInfo,
    trainingJobProgress,
    trainingJobProgressStalled,
    trainingJobFailedAttempts,
  ])
    family.observe(resourcesOf);
}

export const notificationsTotal = new Counter({
  name: "mlops_notifications_total",
  help: "Notifications by Notifier (namespace/name) and result: sent, retried, failed (gave up) or rejected (4xx)",
  labelNames: ["notifier", "result"] as const,
  registers,
});
/** Runs each TrainingQueue admitted (the gate counts them as it admits). */
export const queueAdmissions = new Counter({
  name: "mlops_queue_admissions_total",
  help: "Runs a TrainingQueue admitted (registered with their scheduler afterwards)",
  labelNames: ["namespace", "queue"] as const,
  registers,
});

/** Admitted runs a TrainingQueue stopped to make room for a run of higher priority (preemption: LowerPriority). */
export const queuePreemptions = new Counter({
  name: "mlops_queue_preemptions_total",
  help: "Admitted runs of a TrainingQueue stopped to make room for a run of higher priority (preemption: LowerPriority)",
  labelNames: ["namespace", "queue"] as const,
  registers,
});

/** The queue gate's counts (its onAdmitted, onPreempted), labelled {namespace, queue} from a queue id. */
export const queueCounts = {
  onAdmitted: countByQueue(queueAdmissions),
  onPreempted: countByQueue(queuePreemptions),
} as const;

function countByQueue(counter: typeof queueAdmissions): (queue: string) => void {
  return (queue) => {
    const [namespace = "", name = ""] = queue.split("/"); // `namespace/name`
    counter.inc({ namespace, queue: name });
  };
}

/** From the time a run was first queued to its admission. */
export const queueWaitSeconds = new Histogram({
  name: "mlops_queue_wait_seconds",
  help: "Seconds a run waited in its TrainingQueue before it was admitted",
  labelNames: ["namespace", "queue"] as const,
  buckets: [1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600],
  registers,
});

type QueueStatusView = {
  pending?: number;
  admitted?: number;
  usage?: Record<string, number | undefined>;
};

/** A gauge per TrainingQueue read from its status (or spec) at scrape time: a deleted queue takes its series. */
function queueGauge(
  name: string,
  help: string,
  read: (
    spec: Record<string, unknown>,
    status: QueueStatusView,
  ) => Record<string, number | undefined> | number | undefined,
): Gauge<"namespace" | "queue" | "resource"> {
  return new Gauge({
    name,
    help,
    labelNames: ["namespace", "queue", "resource"] as const,
    registers,
    collect() {
      this.reset();
      for (const r of resourcesOf("TrainingQueue")) {
        if (r.kind !== "TrainingQueue") continue;
        const labels = { namespace: r.metadata.namespace, queue: r.metadata.name };
        const value = read(r.spec as unknown as Record<string, unknown>, (r.status ?? {}) as QueueStatusView);
        if (typeof value === "number") this.set(labels, value);
        else if (value)
          for (const [resource, v] of Object.entries(value))
            if (typeof v === "number") this.set({ ...labels, resource }, v);
      }
    },
  });
}

export const queuePendingRuns = queueGauge(
  "mlops_queue_pending_runs",
  "Runs waiting in a TrainingQueue (phase Queued)",
  (_, s) => s.pending ?? 0,
);
export const queueAdmittedRuns = queueGauge(
  "mlops_queue_admitted_runs",
  "Runs of a TrainingQueue that hold its quota",
  (_, s) => s.admitted ?? 0,
);
export const queueUsage = queueGauge(
  "mlops_queue_usage",
  "What a TrainingQueue's admitted runs request, by resource (gpus, cpu in MHz, memoryMB, runs)",
  (_, s) => s.usage ?? {},
);
export const queueQuota = queueGauge(
  "mlops_queue_quota",
  "A TrainingQueue's quota by resource (an unlimited resource has no series)",
  (spec) => (spec.quota ?? {}) as Record<string, number | undefined>,
);

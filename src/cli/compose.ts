// The composition root: the only place real clients are built. It wires the directory source, the
// controller, the reconcilers of both kinds with their ports (schedulers, Consul, Grafana, Docker),
// the HTTP server, and the hooks between them (stack status → its jobs, phases → metrics).

import type { Logger } from "pino";
import { merge, type Observable, Subject } from "rxjs";
import type { ResourceKey } from "../api/resources.ts";
import { keyOf } from "../api/resources.ts";
import type { SharedState } from "../api/shared-state.ts";
import { consulFromEnv } from "../clients/consul/index.ts";
import { lazyDocker, ownedContainerEvents } from "../clients/docker/index.ts";
import { grafanaFromEnv } from "../clients/grafana/index.ts";
import { Controller, type ErrorReport } from "../controller/controller.ts";
import { createDispatch, type Handlers } from "../controller/dispatch.ts";
import { isOutage } from "../controller/failure-log.ts";
import { type BaseContext, type Recorder, systemClock } from "../controller/reconcile.ts";
import type { Source } from "../controller/source.ts";
import { HIGH_PRIORITY, LOW_PRIORITY } from "../controller/workqueue.ts";
import { type NotifierContext, NotifierReconciler } from "../notifier/index.ts";
import { observeResources, queueCounts } from "../observability/metrics.ts";
import { Readiness } from "../observability/readiness.ts";
import { OperatorServer, parseListenAddress } from "../observability/server.ts";
import { Adoption } from "../scheduler/adoption.ts";
import type { MassPruneLimits } from "../sources/directory/index.ts";
import { EventLog, StateStore } from "../sources/state/index.ts";
import { loadStackAssets } from "../stack/assets.ts";
import type { StackContext } from "../stack/context.ts";
import { stackDocker } from "../stack/docker.ts";
import { StackReconciler } from "../stack/reconciler.ts";
import { sdHandler } from "../stack/sd.ts";
import { stateDirSecrets } from "../stack/secrets.ts";
import {
  ConsulMetricsHealth,
  GrafanaRunAnnotator,
  RateLimitedProgressReader,
  ScrapeProgressReader,
} from "../trainingjob/adapters/index.ts";
import type { TrainingJobContext } from "../trainingjob/context.ts";
import { type OrphanCleanup, removeOrphans } from "../trainingjob/orphans.ts";
import { TrainingJobReconciler } from "../trainingjob/reconciler.ts";
import type { DefaultSchedulerResolver, SchedulerMode } from "../trainingjob/resolver.ts";
import { QueueAdmission } from "../trainingqueue/gate.ts";
import { type TrainingQueueContext, TrainingQueueReconciler } from "../trainingqueue/reconciler.ts";
import { holdRegisteredRuns, type RegisteredRuns } from "../trainingqueue/registered.ts";
import { registerWeb, StatusView } from "../web/index.ts";
import { buildSource } from "./build-source.ts";
import { dependencies, retryOnRecovery } from "./dependencies.ts";
import { bothRecorders, buildKubeEvents } from "./kube-events.ts";
import { buildNotifications } from "./notifications.ts";
import { buildResolver, PROGRESS_READ_INTERVAL_MS, stackPorts } from "./schedulers.ts";
import { scrapeTargets } from "./scrape-targets.ts";
import { buildSecrets } from "./secret-sources.ts";
import { observedWriter, type PhaseListener } from "./status-hooks.ts";
import { OnceRetryWindow } from "./unreachable.ts";
import { webRowFormat } from "./web-format.ts";

/** Where desired state comes from: a directory of YAML (GitOps) or Kubernetes custom resources. */
export type SourceOptions =
  | { readonly kind: "directory"; readonly dir: string }
  | {
      readonly kind: "kubernetes";
      readonly kubeconfig?: string;
      readonly context?: string;
      readonly namespace?: string;
    };

export interface OperatorOptions {
  readonly source: SourceOptions;
  readonly stateDir: string;
  /** Where valueFrom.file references are read (none: such references are InvalidSpec). */
  readonly secretsDir?: string;
  readonly once: boolean;
  readonly concurrency: number;
  readonly metricsAddr: string;
  /** Serve the status page and its JSON API on the metrics listener. */
  readonly web?: boolean;
  readonly scheduler: SchedulerMode;
  readonly ownerId?: string;
  readonly nomadAddr?: string;
  readonly startupTimeoutMs: number;
  readonly resyncMs: number;
  readonly log: Logger;
  /** Called when a TrainingJob's phase changes (progress output of `run`). */
  readonly onPhase?: PhaseListener;
  /** How often a running run's progress is read (`--progress-interval`; default 15 s). */
  readonly progressIntervalMs?: number;
  /** Told of every reconcile's outcome (`run --once` watches for a scheduler that stays unreachable). */
  readonly outcomes?: ReconcileOutcomes;
  /** `run --once`: a key failing with retried errors this long is retried no more (OnceRetryWindow). */
  readonly onceRetryWindowMs?: number;
  /** The directory source's prune rules (`--prune-settle`, `--prune`, the mass prune guard). */
  readonly prune?: PruneOptions;
  /** One of several replicas (`--leader-elect`): nothing is sent before `lead()`. */
  readonly leaderElect?: boolean;
}

export interface ReconcileOutcomes {
  succeeded(key: ResourceKey): void;
  failed(report: ErrorReport): void;
}

export interface PruneOptions {
  readonly settleMs: number;
  readonly enabled: boolean;
  readonly mass: MassPruneLimits;
}

export interface Operator {
  readonly source: Source;
  readonly store: StateStore;
  readonly controller: Controller;
  readonly server: OperatorServer;
  readonly ownerId: string;
  readonly resolver: DefaultSchedulerResolver;
  /** Probes of the servers the operator needs; /readyz reports them (start() begins probing). */
  readonly readiness: Readiness;
  /**
   * Removes this operator's objects that no resource declares any more (after the first full
   * read), scheduler by scheduler; what could not be listed or removed is reported, not thrown.
   */
  cleanupOrphans(): Promise<OrphanCleanup>;
  /**
   * This replica leads (with --leader-elect; a no-op without): reads what previous leaders recorded
   * in `shared` (sent and pending notifications; in directory mode the queues' arrival and admission
   * times, written into this replica's statuses) before anything is reconciled, then sends what is
   * pending. Without `shared`, the state directory's record is used. From then on the resources'
   * metrics are this replica's to export.
   */
  lead(shared?: SharedState): Promise<void>;
  /** Queued runs the schedulers report registered hold their quota before anything is admitted. */
  holdRegisteredRuns(): Promise<RegisteredRuns>;
  close(): Promise<void>;
}

export async function buildOperator(options: OperatorOptions): Promise<Operator> {
  const { log } = options;
  const store = new StateStore(options.stateDir);
  const eventLog = new EventLog(options.stateDir);
  const choice = options.source;
  const progressIntervalMs = options.progressIntervalMs ?? PROGRESS_READ_INTERVAL_MS;
  const source = await buildSource(choice, store, options, log, eventLog);
  // Kubernetes mode: the same events also become core/v1 Events on the resources (kubectl describe).
  const kubeEvents = choice.kind === "kubernetes" ? await buildKubeEvents(choice, source, log) : undefined;
  const recorder: Recorder = kubeEvents ? bothRecorders(eventLog, kubeEvents) : eventLog;
  const { resolver: secrets, kubernetes: kubeSecrets } = await buildSecrets(choice, options.secretsDir);
  const ownerId = options.ownerId ?? source.defaultOwnerId;
  // Objects made under a previous default id of this source are adopted, unless --owner-id is given.
  const adoption = new Adoption({
    ownerId,
    previous: options.ownerId === undefined ? source.previousDefaultOwnerIds : [],
    log,
    onAdopted: (key, { object, from, to }) =>
      recorder.event(
        key,
        "Normal",
        "Adopted",
        `${object} made under the previous default owner id ${from} is now managed as ${to}`,
      ),
  });
  const external = new Subject<ResourceKey>();
  const urgent = new Subject<ResourceKey>(); // reconciled first: runs that ended a replica, runs admitted
  const closers: (() => Promise<void>)[] = [];

  // Docker (stacks; runs without Nomad) is loaded and reached on its first call: a run on Nomad with
  // no MlopsStack never loads it. An engine that does not answer gives DockerUnavailable until it does.
  const docker = lazyDocker();
  const dockerEvents = ownedContainerEvents(docker, ownerId, { log });
  const resolver = await buildResolver({
    scheduler: options.scheduler,
    ownerId,
    // One pass reads the state it starts from: following Nomad's events cost a converging job ~0.25 ms
    // of CPU and 0.7 KB of heap for what only a later pass would act on (docs/benchmarks.md, round 32).
    ...(options.once ? { followEvents: false } : {}),
    adoption,
    log,
    docker,
    dockerEvents,
    ...(options.nomadAddr ? { nomadAddr: options.nomadAddr } : {}),
    onScheduler: (scheduler) => {
      const subscription = scheduler.changes().subscribe({ next: (key) => external.next(key) });
      subscription.add(scheduler.endings?.().subscribe({ next: (key) => urgent.next(key) }));
      closers.push(async () => subscription.unsubscribe());
    },
    stackPorts: (stack) => {
      const ports = stackPorts(stack, options.stateDir, log, progressIntervalMs);
      if (ports.health) {
        const health = ports.health;
        const subscription = health.changes().subscribe({ next: (key) => external.next(key) });
        closers.push(async () => {
          subscription.unsubscribe();
          await health.close();
        });
      }
      return ports;
    },
  });
  closers.push(() => Promise.all(resolver.built().map((s) => s.close())).then(() => undefined));

  const consul = consulFromEnv();
  const grafana = grafanaFromEnv();
  const metricsHealth = consul ? new ConsulMetricsHealth({ client: consul.client, logger: log }) : undefined;
  const annotator = grafana ? new GrafanaRunAnnotator(grafana.client) : undefined;
  if (metricsHealth) closers.push(() => metricsHealth.close());
  if (consul) closers.push(() => consul.close());
  if (grafana) closers.push(() => grafana.close());

  const server = new OperatorServer({ address: options.metricsAddr, log });
  const deps = dependencies({
    scheduler: options.scheduler,
    ...(options.nomadAddr ? { nomadAddr: options.nomadAddr } : {}),
    docker,
    ...(consul ? { consul } : {}),
    ...(grafana ? { grafana } : {}),
    stacksDeclared: () => source.list("MlopsStack").length > 0,
  });
  const readiness = new Readiness({ log });
  for (const dep of deps.list) readiness.add(dep);
  server.readyWhen(() => readiness.reasons());
  server.degradedWhen(() => readiness.degraded());
  closers.push(async () => {
    readiness.stop();
    await deps.close();
  });
  const {
    notifications,
    failover,
    secrets: notifierSecrets,
  } = buildNotifications({
    source,
    stateDir: options.stateDir,
    secretsDir: options.secretsDir,
    kubernetes: kubeSecrets,
    leaderElect: options.leaderElect === true,
    directory: choice.kind === "directory",
    closers,
    log,
  });
  const queues = new QueueAdmission(source, {
    changes: source.changes(),
    ...queueCounts,
    delayWrites: !options.once, // `--once` ends when nothing is left to do: no write may wait
  });
  const status = observedWriter(
    source,
    external,
    (resource, from, to) => {
      notifications.phaseChanged(resource, from, to);
      if (resource.kind === "TrainingJob") options.onPhase?.(resource, from, to);
    },
    (resource, next) => {
      if (resource.kind === "TrainingJob" && resource.spec.queue) queues.noteStatus(keyOf(resource)); // the gate's reads
      return failover.afterWrite(resource, next);
    },
  );
  const kinds = ["MlopsStack", "TrainingJob", "TrainingQueue"] as const;
  const listed = () => kinds.flatMap((k) => source.list(k));
  // The metrics of every resource (mlops_resource_info, mlops_trainingjobs, progress, the queue
  // gauges) come from the leader only: replicas read the same resources, and a sum over them would
  // count each resource once per replica (docs/high-availability.md).
  const observeSource = () => observeResources((kind) => source.list(kind));
  if (!options.leaderElect) observeSource();
  const base: BaseContext = { status, recorder, clock: systemClock, log, resources: source };
  const jobContext: TrainingJobContext = {
    ...base,
    schedulers: resolver,
    ownerId,
    ...(annotator ? { annotator } : {}),
    ...(metricsHealth ? { health: metricsHealth } : {}),
    progress: new RateLimitedProgressReader(new ScrapeProgressReader(), progressIntervalMs),
    progressIntervalMs,
    startupTimeoutMs: options.startupTimeoutMs,
    revision: () => source.revision(),
    secrets,
    queues,
  };
  const stacks = new StackReconciler({ events: dockerEvents, ownerId });
  const stackContext: StackContext = {
    ...base,
    docker: stackDocker(docker),
    secrets: stateDirSecrets(options.stateDir),
    assets: await loadStackAssets(),
    ownerId,
    operatorPort: parseListenAddress(options.metricsAddr).port,
  };
  // Every kind of the registry has its handler: a kind added without one does not compile.
  const handlers: Required<Handlers> = {
    TrainingJob: { reconciler: new TrainingJobReconciler(), context: jobContext as BaseContext },
    MlopsStack: { reconciler: stacks, context: stackContext as BaseContext },
    Notifier: {
      reconciler: new NotifierReconciler(),
      context: { ...base, ...notifierSecrets } satisfies NotifierContext as BaseContext,
    },
    TrainingQueue: {
      reconciler: new TrainingQueueReconciler(),
      context: { ...base, queues } satisfies TrainingQueueContext as BaseContext,
    },
  };
  const streams: Observable<ResourceKey>[] = [source.changes(), external, stacks.changes(), queues.changes()];
  if (metricsHealth) streams.push(metricsHealth.changes());
  const windowMs = options.onceRetryWindowMs;
  const direct = createDispatch(source, handlers);
  const dispatch = windowMs === undefined ? direct : new OnceRetryWindow(windowMs).wrap(direct);
  const outcomes = options.outcomes;
  const controller = new Controller({
    name: "mlops",
    dispatch: outcomes
      ? async (key, signal) => {
          const action = await dispatch(key, signal);
          outcomes.succeeded(key);
          return action;
        }
      : dispatch,
    // Ended runs, admitted ones and the queues at start-up first; new positions, a new queue's jobs last.
    sources: [
      merge(...streams),
      { keys: merge(queues.atStart(), urgent, queues.admissions()), priority: HIGH_PRIORITY },
      { keys: queues.backgroundChanges(), priority: LOW_PRIORITY },
    ],
    keys: () => listed().map(keyOf),
    concurrency: options.concurrency,
    resyncMs: options.resyncMs,
    compactHeap: !options.once, // `--once` exits after its burst instead
    log,
    onError: (report) => {
      outcomes?.failed(report);
      // A server that stopped answering shows on /readyz now, not at the next probe.
      if (isOutage(report.reason)) readiness.probeSoon();
      recorder.event(
        report.key,
        "Warning",
        report.reason,
        `${report.message}${report.retryInMs ? ` (retry in ${Math.round(report.retryInMs / 1000)} s)` : ""}`,
      );
    },
  });
  retryOnRecovery(readiness, controller.queue, log);
  server.afterMetrics(() => controller.allocatedOutside()); // a scrape's garbage, given back once quiet
  server.route("GET", "/sd/prometheus", sdHandler({ targets: () => scrapeTargets(source) }));
  if (options.web) {
    // Fed by the store as it writes (this process holds the state directory's lock: no other writes).
    // A record of its resource's generation shows that resource's spec (the records hold none).
    const view = new StatusView(store, { live: (key) => source.get(key) });
    await view.start();
    closers.push(async () => view.close());
    const grafanaUrl = process.env.GRAFANA_URL;
    registerWeb(server, view, webRowFormat, {
      // The Training runs dashboard (manifests/grafana/training-runs.json).
      ...(grafanaUrl ? { grafanaUrl: `${grafanaUrl.replace(/\/+$/, "")}/d/mlops-training-runs` } : {}),
    });
  }

  return {
    source,
    store,
    controller,
    server,
    ownerId,
    resolver,
    readiness,
    async cleanupOrphans() {
      if (!source.settled()) return { removed: 0, skipped: [] };
      return removeOrphans({
        schedulers: resolver.candidates(source),
        ownerId,
        lookup: (key) => source.lookup(key),
        recorder,
      });
    },
    async lead(shared) {
      if (!options.leaderElect) return;
      await failover.lead(shared);
      observeSource();
    },
    holdRegisteredRuns: () => holdRegisteredRuns(resolver.candidates(source), ownerId, source, queues, log),
    async close() {
      for (const close of closers.reverse()) await close().catch(() => undefined);
      await kubeEvents?.close();
      await eventLog.close();
      await source.close();
      await store.close();
      await server.close();
    },
  };
}

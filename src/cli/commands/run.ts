// `mlopsctl run`: the operator. Watches the directory and converges until SIGINT/SIGTERM; with
// --once, converges every resource once (without waiting for training runs to finish) and exits.

import { resolve } from "node:path";
import type { Command } from "commander";
import type { Logger } from "pino";
import { messageOf, reasonOf } from "../../api/errors.ts";
import type { ResourceKey } from "../../api/resources.ts";
import type { ErrorReport } from "../../controller/controller.ts";
import { memoryLimits } from "../../controller/memory-headroom.ts";
import { createLogger } from "../../observability/logger.ts";
import { line } from "../../observability/printable.ts";
import { DEFAULT_METRICS_ADDR } from "../../observability/server.ts";
import { DirectorySource, notADirectory } from "../../sources/directory/index.ts";
import {
  listRecords,
  openStateDir,
  removeStrayEventLogs,
  resolveStateDir,
  StateFormatError,
  type StateLock,
  StateLockedError,
  secureStateDir,
} from "../../sources/state/index.ts";
import { formatLocated } from "../../sources/yaml/index.ts";
import type { SchedulerMode } from "../../trainingjob/resolver.ts";
import { buildOperator, type Operator } from "../compose.ts";
import { EXIT, ExitError } from "../exit.ts";
import {
  durationOption,
  LOG_LEVELS,
  logLevelOf,
  parseBool,
  parseLogFormat,
  parseLogLevel,
  parsePositiveInt,
  parseScheduler,
  parseSource,
} from "../flags.ts";
import { kubeLeaseModules, type LeaderFlags, leaderElectorFor, withLeaderFlags } from "../leader.ts";
import { heldBackPrunes, type PruneFlags, pruneOptionsOf, withPruneFlags } from "../prune-flags.ts";
import { anyUnfinished, Progress } from "../run-progress.ts";
import { addressOrigin, UnreachableWatch } from "../unreachable.ts";
import { rowsFor } from "./get.ts";
import { remember, whatNext } from "./run-context.ts";
import { configureStateIo } from "./run-threads.ts";
import { validatePaths } from "./validate.ts";

export interface RunOptions extends PruneFlags, LeaderFlags {
  dir?: string;
  web?: boolean;
  source: "directory" | "kubernetes";
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  stateDir?: string;
  secretsDir?: string;
  metricsAddr?: string;
  concurrency: number;
  once?: boolean;
  timeout: number;
  unreachableTimeout: number;
  scheduler: SchedulerMode;
  ownerId?: string;
  nomadAddr?: string;
  startupTimeout: number;
  resync: number;
  progressInterval: number;
  logLevel?: string;
  logFormat?: string;
}

export function registerRun(program: Command): void {
  const command = program
    .command("run")
    .description("run the operator on a directory of resources (GitOps)")
    .option("--dir <dir>", "the directory of TrainingJob and MlopsStack YAML files (the directory source)")
    .option("--source <kind>", "where resources come from: directory or kubernetes", parseSource, "directory")
    .option(
      "--kubeconfig <path>",
      "kubernetes source: the kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster)",
    )
    .option("--context <name>", "kubernetes source: a kubeconfig context other than the current one")
    .option("--namespace <ns>", "kubernetes source: watch one namespace (default: all)")
    .option(
      "--state-dir <dir>",
      "status, generations and events (default: $MLOPS_STATE_DIR, else <dir>/../.mlops-state/<name>)",
    )
    .option(
      "--secrets-dir <dir>",
      "where env valueFrom.file references are read (default: none; such references are InvalidSpec)",
    )
    .option(
      "--metrics-addr <addr>",
      `listen address of /metrics, /healthz, /readyz, /sd/prometheus (default ${DEFAULT_METRICS_ADDR}; with --once: none unless given)`,
    )
    .option(
      "--web <bool>",
      "serve the status page (/) and its read-only JSON API (/api/v1/…) on the --metrics-addr listener",
      parseBool,
      true,
    )
    .option(
      "--concurrency <n>",
      "reconciles at once; each holds at most one HTTP connection to a server at a time (Nomad allows 100 per client)",
      parsePositiveInt,
      32,
    )
    .option("--once", "converge every resource once, prune, write status and exit")
    .addOption(
      durationOption("--timeout <duration>", "with --once: give up after this long (e.g. 90s, 5m)", 300_000),
    )
    .addOption(
      durationOption(
        "--unreachable-timeout <duration>",
        "with --once: fail when a scheduler it needs stays unreachable this long; a resource whose other retried errors last this long is not retried again (exit 1)",
        30_000,
      ),
    )
    .option("--scheduler <name>", "where TrainingJobs run: auto, docker or nomad", parseScheduler, "auto")
    .option(
      "--owner-id <id>",
      "tells this operator's objects from others' (default: hash of the directory's path as given, links not followed)",
    )
    .option("--nomad-addr <url>", "the Nomad for jobs without stackRef (default: $NOMAD_ADDR)")
    .addOption(
      durationOption(
        "--startup-timeout <duration>",
        "distributed runs: all replicas running within this",
        600_000,
      ),
    )
    .addOption(
      durationOption(
        "--resync <duration>",
        "periodic resync (a safety net; events drive the operator)",
        600_000,
      ),
    )
    .addOption(
      durationOption(
        "--progress-interval <duration>",
        "how often a running run's progress is read (its metrics endpoint or its stack's Prometheus)",
        15_000,
      ),
    )
    .option(
      "--log-level <level>",
      `${LOG_LEVELS.join(", ")} (default: $MLOPS_LOG_LEVEL, else info)`,
      parseLogLevel,
    )
    .option("--log-format <format>", "json or pretty (default: pretty on a terminal)", parseLogFormat);
  withLeaderFlags(withPruneFlags(command, true)).action(async (options: RunOptions) => {
    // This process is the operator: how its state directory's writes use its threads (a caller of
    // run(), such as a test, keeps the library's defaults).
    configureStateIo(process.env, options.once === true);
    process.exitCode = await run(options);
  });
}

export async function run(options: RunOptions): Promise<number> {
  const log = createLogger({
    level: logLevelOf(options, process.env),
    ...(options.logFormat ? { pretty: options.logFormat === "pretty" } : {}),
  });
  if (options.source === "directory" && !options.dir) {
    throw new ExitError(EXIT.usage, "run needs --dir DIR (or --source kubernetes)");
  }
  if (options.leaderElect && options.once)
    throw new ExitError(EXIT.usage, "--leader-elect and --once exclude each other");
  const dir = options.dir ?? ".";
  // One pass over a directory that is not there would only say so after making a state directory
  // beside it and recording it as the current context (a watching operator waits for it instead).
  const missing = options.once && options.source === "directory" ? notADirectory(dir) : undefined;
  if (missing) throw new ExitError(EXIT.failed, `--dir ${dir} ${missing}: nothing read, written or pruned`);
  // With the Kubernetes source, status lives on the cluster; the state directory keeps the lock,
  // events and stack secrets (default ./.mlops-state/kubernetes).
  const stateDir =
    options.source === "kubernetes"
      ? resolveStateDir(options.stateDir, "kubernetes", {
          ...process.env,
          MLOPS_STATE_DIR: process.env.MLOPS_STATE_DIR ?? ".mlops-state/kubernetes",
        })
      : resolveStateDir(options.stateDir, dir);
  let lock: StateLock;
  try {
    const opened = await openStateDir(stateDir);
    lock = opened.lock;
    if (opened.leftovers.length > 0) {
      log.info(
        { stateDir, removed: opened.leftovers.length },
        "removed temporary files a stopped writer left",
      );
    }
    if (opened.format.written) {
      log.info({ stateDir, from: opened.format.found }, "state directory format written");
    }
  } catch (error) {
    // Exit 75 only when a live holder answered on the lock.
    if (error instanceof StateLockedError) throw new ExitError(EXIT.locked, error.message);
    if (error instanceof StateFormatError) throw new ExitError(EXIT.failed, error.message);
    throw error;
  }
  // Only the operator's user reads the state directory: repair what an older version left 0755/0644.
  const repaired = secureStateDir(stateDir);
  if (repaired > 0) log.debug({ stateDir, repaired }, "state directory modes set to 0700/0600");
  const nomadAddr = options.nomadAddr ?? process.env.NOMAD_ADDR;
  // --once converges and exits: it serves no port unless asked (a second operator on the machine
  // holds the default one). The operator's port is still the one a stack's Prometheus scrapes.
  const serve = options.once !== true || options.metricsAddr !== undefined;
  const metricsAddr = options.metricsAddr ?? DEFAULT_METRICS_ADDR;
  const unreachable = options.once ? new UnreachableWatch(options.unreachableTimeout) : undefined;
  let operator: Operator | undefined;
  let leader: ReturnType<typeof leaderElectorFor>;
  const progress = new Progress(log);
  try {
    operator = await buildOperator({
      source:
        options.source === "kubernetes"
          ? {
              kind: "kubernetes",
              ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}),
              ...(options.context ? { context: options.context } : {}),
              ...(options.namespace ? { namespace: options.namespace } : {}),
            }
          : { kind: "directory", dir },
      stateDir,
      ...(options.secretsDir ? { secretsDir: resolve(options.secretsDir) } : {}),
      once: options.once === true,
      concurrency: options.concurrency,
      metricsAddr,
      web: serve && options.web !== false,
      scheduler: options.scheduler,
      ...(options.ownerId ? { ownerId: options.ownerId } : {}),
      ...(nomadAddr ? { nomadAddr } : {}),
      startupTimeoutMs: options.startupTimeout,
      resyncMs: options.resync,
      progressIntervalMs: options.progressInterval,
      log,
      onPhase: (job, from, to) => progress.phase(job, from, to),
      ...(unreachable ? { outcomes: unreachable, onceRetryWindowMs: options.unreachableTimeout } : {}),
      prune: pruneOptionsOf(options),
      ...(options.leaderElect ? { leaderElect: true } : {}),
    });
    const address = serve ? await listen(operator) : undefined;
    const context = await remember(options, dir, stateDir, operator.ownerId, address, nomadAddr, log);
    const started = { dir: options.dir, stateDir, ownerId: operator.ownerId, metrics: address };
    log.info({ ...started, context: context?.name, ...memoryLimits() }, "operator starting");
    // Probed in the background: /readyz names what does not answer; nothing waits for it.
    void operator.readiness.start();
    // A follower's source writes nothing (no finalizers); it is ready once read: it can take over.
    const kube = await kubeLeaseModules(options);
    leader = leaderElectorFor(options, operator.ownerId, log, operator.source, process.env, kube);
    await operator.source.start();
    operator.server.markReady();
    if (leader && !(await leader.campaign(signalled()))) return EXIT.ok;
    // What the previous leader recorded (sent notifications, queue times), read before reconciling.
    await operator.lead(leader?.shared);
    const { removed, skipped } = await operator.cleanupOrphans();
    for (const skip of skipped) {
      log.warn(
        { scheduler: skip.scheduler, reason: skip.reason, err: skip.message },
        `orphan cleanup on ${skip.scheduler} skipped: ${skip.reason}`,
      );
    }
    if (removed > 0) log.info({ removed }, "removed runs no resource declares");
    const { source } = operator;
    if (options.source !== "kubernetes" && source.settled()) {
      const declared = (key: ResourceKey) => source.lookup(key).state !== "absent";
      const logs = await removeStrayEventLogs(stateDir, declared);
      if (logs.length > 0)
        log.info({ removed: logs.length }, "removed event logs no resource or status declares");
    }
    await operator.holdRegisteredRuns();
    if (options.once) return await once(operator, options, log, unreachable);
    if (context) process.stdout.write(whatNext(context, operator));
    return await untilSignal(operator, stateDir, log, progress, leader?.lost());
  } finally {
    unreachable?.close();
    await leader?.close();
    await operator
      ?.close()
      .catch((error: unknown) => log.error({ err: messageOf(error) }, "shutdown failed"));
    await lock.release();
    log.flush?.();
  }
}

/** Binds the metrics port; one clear line naming the address and the flag when it cannot. */
async function listen(operator: Operator): Promise<string> {
  try {
    return await operator.server.listen();
  } catch (error) {
    if (reasonOf(error) !== "ListenFailed") throw error;
    throw new ExitError(
      EXIT.failed,
      `${messageOf(error)} (another operator may be running; pass --metrics-addr with a free HOST:PORT, e.g. 127.0.0.1:0)`,
    );
  }
}

async function once(
  operator: Operator,
  options: RunOptions,
  log: Logger,
  unreachable: UnreachableWatch | undefined,
): Promise<number> {
  const giveUp = new AbortController();
  let unreachableReport: ErrorReport | undefined;
  void unreachable?.gaveUp.then((report) => {
    unreachableReport = report;
    giveUp.abort();
  });
  const summary = await operator.controller.runUntilIdle({
    timeoutMs: options.timeout,
    signal: giveUp.signal,
  });
  if (unreachableReport) {
    const origin = addressOrigin(unreachableReport.message, {
      ...(options.nomadAddr ? { nomadFlag: options.nomadAddr } : {}),
      env: process.env,
    });
    process.stderr.write(
      `mlopsctl: a scheduler stayed unreachable for ${Math.round(options.unreachableTimeout / 1000)} s (${origin}): ${unreachableReport.message}\n` +
        "  check the address and that the server runs, or allow longer with --unreachable-timeout\n",
    );
    log.info(
      { key: unreachableReport.key, reason: unreachableReport.reason },
      "gave up: scheduler unreachable",
    );
    return EXIT.failed;
  }
  for (const failure of summary.failed) {
    process.stderr.write(line(`${failure.key}: ${failure.reason}: ${failure.message}`));
  }
  log.info(
    { reconciled: summary.reconciled, failed: summary.failed.length, timedOut: summary.timedOut },
    "converged once",
  );
  if (summary.timedOut) process.stderr.write(`mlopsctl: --once timed out after ${options.timeout} ms\n`);
  // Invalid documents changed nothing (and pruned nothing), but the run did not apply them: say so.
  // Files unchanged since the source read them are not read again.
  const source = operator.source;
  const known =
    source instanceof DirectorySource ? (path: string) => source.unchangedLoad(resolve(path)) : undefined;
  const report =
    options.source === "directory" && options.dir
      ? await validatePaths([options.dir], known ? { known } : {})
      : { errors: [] };
  for (const issue of report.errors) process.stderr.write(line(formatLocated(issue)));
  // Prunes the run held back: a mass prune awaiting confirmation, or a tree that never settled.
  const held =
    source instanceof DirectorySource
      ? heldBackPrunes(source.pruneReport(), options, report.errors.length > 0)
      : [];
  for (const text of held) process.stderr.write(line(text));
  const failed = summary.failed.length > 0 || summary.timedOut || report.errors.length > 0;
  return failed || held.length > 0 ? EXIT.failed : EXIT.ok;
}

async function untilSignal(
  operator: Operator,
  stateDir: string,
  log: Logger,
  progress: Progress,
  leadershipLost?: Promise<void>,
): Promise<number> {
  operator.controller.start();
  // When the last unfinished TrainingJob finishes, show the table (again after later runs finish),
  // from the status just written: the write-behind batch is flushed first.
  progress.unfinished = anyUnfinished(operator.source);
  progress.onAllFinished = () => void printTable(operator, stateDir);
  const signal = await Promise.race([
    signalled(),
    leadershipLost?.then(() => "lost" as const) ?? new Promise<never>(() => {}),
  ]);
  if (signal === "lost") {
    // No write after the renew deadline: in-flight reconciles are aborted, not waited for.
    log.error("leadership lost: stopping reconciles now and exiting");
    await operator.controller.stop({ gracePeriodMs: 0 });
    return EXIT.failed;
  }
  log.info({ signal }, "stopping: finishing in-flight reconciles");
  const { abandoned } = await operator.controller.stop();
  if (abandoned.length > 0) log.warn({ abandoned }, "reconciles still running at shutdown");
  return EXIT.ok;
}

function signalled(): Promise<string> {
  return new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
}

async function printTable(operator: Operator, stateDir: string): Promise<void> {
  await operator.store.flush();
  const records = await listRecords(stateDir, "TrainingJob", undefined);
  process.stdout.write(`\n${rowsFor("TrainingJob", records, true, true, new Date())}\n`);
}

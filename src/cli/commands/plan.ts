// `mlopsctl plan`: what `run` would do, without doing it. The same decide() that run applies is
// printed here per resource: create, new run, update in place, stop, purge, delete, or nothing,
// with a field diff against the last applied spec and Nomad's placement preview where reachable.
// Read-only: the state directory and the watched files are not written. Prunes are shown with the
// rules run applies (unreadable entries, prune disabled, the mass prune guard); plan does not wait
// out the settle interval: it shows what run prunes if the tree stays as it is now. A job naming a
// TrainingQueue that its queue would not admit now shows as `queue` (plan-queues.ts).
import type { Command } from "commander";
import { messageOf, reasonOf } from "../../api/errors.ts";
import { fieldDiff, formatChange } from "../../api/field-diff.ts";
import { byCodeUnits } from "../../api/order.ts";
import { redactSpec } from "../../api/redact.ts";
import {
  type AnyResource,
  keyOf,
  type MlopsStack,
  type ResourceKey,
  type TrainingJob,
  type TrainingQueue,
} from "../../api/resources.ts";
import { silentLogger } from "../../observability/logger.ts";
import { line, printable } from "../../observability/printable.ts";
import { Adoption } from "../../scheduler/adoption.ts";
import type { Scheduler } from "../../scheduler/port.ts";
import { SecretResolver } from "../../secrets/index.ts";
import { DirectorySource } from "../../sources/directory/index.ts";
import { resolveStateDir, StateStore } from "../../sources/state/index.ts";
import { formatLocated } from "../../sources/yaml/index.ts";
import { stackConflicts } from "../../stack/conflicts.ts";
import { planRun, type RunPlan } from "../../trainingjob/plan-run.ts";
import type { SchedulerMode } from "../../trainingjob/resolver.ts";
import { EXIT } from "../exit.ts";
import { durationOption, parseScheduler } from "../flags.ts";
import { type PruneFlags, pruneOptionsOf, withPruneFlags } from "../prune-flags.ts";
import { buildResolver } from "../schedulers.ts";
import { type StateOptions, targetOf } from "./get.ts";
import { pruneChanges } from "./plan-prunes.ts";
import { queueChanges } from "./plan-queues.ts";
import { validatePaths } from "./validate.ts";

export interface PlanOptions extends PruneFlags {
  dir: string;
  stateDir?: string;
  detailedExitcode?: boolean;
  scheduler: SchedulerMode;
  ownerId?: string;
  nomadAddr?: string;
  startupTimeout: number;
  /** As for run: to tell a changed secret of a job with restartOnSecretChange (values never printed). */
  secretsDir?: string;
}

export interface PlannedChange {
  readonly key: ResourceKey;
  /** create, new-run, update, resume, repair, retry, requeue, stop, purge, delete, keep, wait, queue, blocked, unknown, none */
  readonly action: string;
  readonly detail: string;
  readonly fields: readonly string[];
}

export function registerPlan(program: Command): void {
  const command = program
    .command("plan")
    .description("print what `run` would do: per resource create/update/delete, with a field diff")
    .option(
      "--dir <dir>",
      "the directory of TrainingJob and MlopsStack YAML files (default: the current context's)",
    )
    .option(
      "--state-dir <dir>",
      "the state directory (default: $MLOPS_STATE_DIR, else the context's, else <dir>/../.mlops-state/<name>)",
    )
    .option(
      "--mlops-context <name>",
      "plan for the run recorded as this context (default: $MLOPSCTL_CONTEXT, else the current one)",
    )
    .option("--detailed-exitcode", "exit 0 when there are no changes, 2 when there are (Terraform's meaning)")
    .option("--scheduler <name>", "auto, docker or nomad", parseScheduler, "auto")
    .option(
      "--owner-id <id>",
      "the operator's owner id (default: the context's, else a hash of the directory's path as given, links not followed)",
    )
    .option("--nomad-addr <url>", "the Nomad for jobs without stackRef (default: $NOMAD_ADDR)")
    .addOption(durationOption("--startup-timeout <duration>", "as for run", 600_000))
    .option("--secrets-dir <dir>", "as for run: a changed secret shows as a new run (restartOnSecretChange)");
  withPruneFlags(command, false).action(async (flags: Omit<PlanOptions, "dir"> & StateOptions) => {
    const target = targetOf(flags);
    const ownerId = flags.ownerId ?? target.ownerId;
    const nomadAddr = flags.nomadAddr ?? target.nomadAddr;
    const options: PlanOptions = {
      ...flags,
      dir: target.dir,
      stateDir: target.stateDir,
      ...(ownerId ? { ownerId } : {}),
      ...(nomadAddr ? { nomadAddr } : {}),
    };
    // Invalid files first, exactly as `validate` reports them: a plan over a broken tree prunes nothing.
    const report = await validatePaths([options.dir]);
    for (const issue of report.errors) process.stderr.write(line(formatLocated(issue)));
    const changes = await plan(options);
    process.stdout.write(render(changes));
    const invalid = report.errors.length > 0;
    const changed = changes.some((c) => c.action !== "none");
    process.exitCode = invalid ? EXIT.failed : options.detailedExitcode && changed ? EXIT.changes : EXIT.ok;
  });
}

export async function plan(options: PlanOptions): Promise<PlannedChange[]> {
  const stateDir = resolveStateDir(options.stateDir, options.dir);
  // Read-only: generations are counted in memory; no status, generation or event is written.
  const real = new StateStore(stateDir, { readOnly: true });
  const prune = pruneOptionsOf(options);
  const source = new DirectorySource({
    dir: options.dir,
    store: real,
    once: true,
    log: silentLogger(),
    settleMs: 0,
    prune: prune.enabled,
    massPrune: prune.mass,
  });
  try {
    await source.start();
    const ownerId = options.ownerId ?? source.defaultOwnerId;
    const nomadAddr = options.nomadAddr ?? process.env.NOMAD_ADDR;
    const resolver = await buildResolver({
      scheduler: options.scheduler,
      ownerId,
      // What run adopts, plan shows as this operator's (no event: plan writes nothing).
      adoption: new Adoption({
        ownerId,
        previous: options.ownerId === undefined ? source.previousDefaultOwnerIds : [],
      }),
      ...(nomadAddr ? { nomadAddr } : {}),
    });
    const out: PlannedChange[] = [];
    const jobs: PlannedChange[] = [];
    const plans = new Map<ResourceKey, RunPlan>();
    const declared = new Set<ResourceKey>();
    out.push(...(await pruneChanges(source, stateDir, options)));
    // Stacks that exist first: of two that claim one network or port, the one created keeps them.
    const stacks = source.list("MlopsStack") as MlopsStack[];
    const exists = (stack: MlopsStack) => (real.readSync(keyOf(stack)) ? 0 : 1);
    const conflicts = stackConflicts([...stacks].sort((a, b) => exists(a) - exists(b)));
    for (const resource of [...stacks, ...source.list("TrainingJob")]) {
      declared.add(keyOf(resource));
      const previous = real.readSync(keyOf(resource));
      const fields = previous
        ? fieldDiff(previous.spec, redactSpec(resource.spec), ["spec"]).map(formatChange)
        : [];
      if (resource.kind === "MlopsStack") {
        const conflict = conflicts.get(keyOf(resource));
        out.push(
          conflict
            ? {
                key: keyOf(resource),
                action: "blocked",
                detail: `${conflict.with} claims the same ${conflict.what.join(" and ")}; the stack created first keeps them, this one would report NameConflict, IPInUse or PortInUse`,
                fields,
              }
            : stackChange(resource, previous !== undefined, fields),
        );
        continue;
      }
      jobs.push(await jobChange(resource as TrainingJob, resolver, source, ownerId, options, fields, plans));
    }
    const declaredJobs = source.list("TrainingJob") as TrainingJob[];
    const queues = source.list("TrainingQueue").filter((q): q is TrainingQueue => q.kind === "TrainingQueue");
    out.push(...queueChanges(jobs, declaredJobs, queues, plans, new Date()));
    for (const scheduler of resolver.built()) {
      const owned = await scheduler.listOwned(ownerId).catch(() => []);
      for (const run of owned) {
        if (!declared.has(run.key) && source.lookup(run.key).state === "absent") {
          out.push({
            key: run.key,
            action: "delete",
            detail: `orphan on ${scheduler.name} ${scheduler.target}`,
            fields: [],
          });
        }
      }
    }
    await Promise.all(resolver.built().map((s) => s.close()));
    return out.sort((a, b) => byCodeUnits(a.key, b.key));
  } finally {
    await source.close();
    await real.close();
  }
}

function stackChange(stack: AnyResource, known: boolean, fields: string[]): PlannedChange {
  const key = keyOf(stack);
  if (!known) return { key, action: "create", detail: "network and components", fields: [] };
  return fields.length > 0
    ? { key, action: "update", detail: "replaces only the components whose spec changed", fields }
    : { key, action: "none", detail: "", fields: [] };
}

async function jobChange(
  job: TrainingJob,
  resolver: Awaited<ReturnType<typeof buildResolver>>,
  source: DirectorySource,
  ownerId: string,
  options: PlanOptions,
  fields: string[],
  plans: Map<ResourceKey, RunPlan>,
): Promise<PlannedChange> {
  const startupTimeoutMs = options.startupTimeout;
  const key = keyOf(job);
  const choice = resolver.resolve(job, source);
  if ("blocker" in choice)
    return { key, action: "wait", detail: `${choice.blocker.reason}: ${choice.blocker.message}`, fields };
  const scheduler: Scheduler = choice.scheduler;
  // Only the values' hash is used; a reference that cannot be read counts as unchanged.
  const secrets = job.spec.restartOnSecretChange
    ? await new SecretResolver(options.secretsDir ? { secretsDir: options.secretsDir } : {})
        .resolve(job)
        .catch(() => undefined)
    : undefined;
  const unread =
    secrets === undefined && job.spec.restartOnSecretChange && job.spec.env?.some((e) => e.valueFrom)
      ? " (secret references not read: pass --secrets-dir to tell a changed secret)"
      : "";
  let planned: RunPlan;
  try {
    planned = await planRun(job, scheduler, { ownerId, now: new Date(), startupTimeoutMs, secrets });
  } catch (error) {
    return { key, action: "unknown", detail: `${reasonOf(error)}: ${messageOf(error)}`, fields };
  }
  plans.set(key, planned);
  const d = planned.decision;
  const where = `${scheduler.name} ${scheduler.target}`;
  if (d.notOwned)
    return {
      key,
      action: "blocked",
      detail: `NotOwned: another operator's job on ${where} is left alone`,
      fields,
    };
  const step = d.step;
  let placement = "";
  if (step.op === "submit" && scheduler.placement) {
    // The request without secret values: plan previews placement, it never sends a secret.
    const { secrets: _values, ...request } = planned.request;
    placement = await scheduler.placement(request).then(
      (p) => (p ? `; placement: ${p}` : ""),
      () => "",
    );
  }
  switch (step.op) {
    case "none":
      return {
        key,
        action: "none",
        detail: d.outcome
          ? `run ${d.runId} finished: ${d.outcome.outcome}`
          : d.backoff
            ? `run ${d.runId}: attempt ${d.backoff.attempt} starts at ${d.backoff.retryAt} (retryPolicy.backoff)`
            : "",
        fields: [],
      };
    case "submit": {
      const action = step.why === "create" ? "create" : step.why === "replace" ? "new-run" : step.why;
      const what = d.newRun ? `new run ${d.runId}` : `run ${d.runId}`;
      return { key, action, detail: `${what} on ${where}${placement}${unread}`, fields };
    }
    case "stop":
      return { key, action: "stop", detail: `run ${d.runId} (${step.why})`, fields };
    case "purge":
      return { key, action: "purge", detail: `run ${d.runId} (ttlSecondsAfterFinished)`, fields };
  }
}

const SYMBOL: Record<string, string> = {
  create: "+",
  "new-run": "+/-",
  update: "~",
  resume: "~",
  repair: "~",
  retry: "~",
  requeue: "~",
  stop: "~",
  purge: "-",
  delete: "-",
  keep: "=",
  wait: "…",
  queue: "…",
  blocked: "!",
  unknown: "?",
  none: " ",
};

export function render(changes: readonly PlannedChange[]): string {
  const lines: string[] = [];
  for (const c of changes) {
    if (c.action === "none" && c.detail === "") continue;
    lines.push(
      printable(`${SYMBOL[c.action] ?? "?"} ${c.key}: ${c.action}${c.detail ? ` (${c.detail})` : ""}`),
    );
    for (const field of c.fields) lines.push(printable(`      ${field}`));
  }
  const counted = (a: string) => changes.filter((c) => c.action === a).length;
  const changed = changes.filter((c) => c.action !== "none").length;
  lines.push(
    changed === 0
      ? `No changes: ${changes.length} resource(s) converged.`
      : `Plan: ${counted("create")} to create, ${counted("new-run")} new run(s), ${counted("update") + counted("resume") + counted("repair") + counted("retry") + counted("requeue") + counted("stop")} to change, ${counted("delete") + counted("purge")} to delete, ${counted("wait") + counted("queue") + counted("blocked") + counted("unknown")} waiting, queued, blocked or unknown.`,
  );
  return `${lines.join("\n")}\n`;
}

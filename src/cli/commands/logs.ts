// `mlopsctl logs trainingjob NAME [-f] [--replica N]`: a run's output, from wherever the run was
// placed (status.run.scheduler and target in the state directory), through the scheduler port.
import type { Command } from "commander";
import { makeKey } from "../../api/resources.ts";
import { directoryOwnerId } from "../../sources/directory/index.ts";
import { readRecord } from "../../sources/state/record.ts";
import { EXIT, ExitError } from "../exit.ts";
import { buildResolver } from "../schedulers.ts";
import { type GetOptions, kindArgument, nameArgument, targetOf, withStateOptions } from "./get.ts";

export interface LogsOptions extends GetOptions {
  follow?: boolean;
  replica?: string;
  ownerId?: string;
}

export function registerLogs(program: Command): void {
  withStateOptions(
    program
      .command("logs")
      .description("print a TrainingJob run's output")
      .argument("<kind>", "trainingjob (tj)")
      .argument("<name>", "the TrainingJob's name")
      .option("-f, --follow", "keep printing as the run writes")
      .option("--replica <n>", "one replica of a distributed run (default: all)")
      .option(
        "--owner-id <id>",
        "the operator's owner id (default: the context's, else a hash of the directory's path as given, links not followed)",
      ),
  ).action(async (kind: string, name: string, options: LogsOptions) => {
    await logs(kind, name, options);
  });
}

export async function logs(kindAlias: string, name: string, options: LogsOptions): Promise<void> {
  if (kindArgument(kindAlias) !== "TrainingJob")
    throw new ExitError(EXIT.usage, "logs are kept for TrainingJobs only");
  const namespace = nameArgument(options.namespace ?? "default", "namespace");
  const key = makeKey("TrainingJob", namespace, nameArgument(name));
  const target = targetOf(options);
  const record = await readRecord(target.stateDir, key);
  const run = (
    record?.status as { run?: { scheduler?: "nomad" | "docker"; target?: string; id?: string } } | undefined
  )?.run;
  if (!run?.scheduler || !run.target) {
    throw new ExitError(
      EXIT.failed,
      `trainingjob "${name}" has no run yet in namespace ${namespace} (state directory ${target.stateDir})`,
    );
  }
  const replica = options.replica === undefined ? undefined : Number(options.replica);
  if (replica !== undefined && (!Number.isInteger(replica) || replica < 0)) {
    throw new ExitError(EXIT.usage, `--replica must be a whole number ≥ 0 (got "${options.replica}")`);
  }
  const ownerId = options.ownerId ?? target.ownerId ?? directoryOwnerId(target.dir);
  const resolver = await buildResolver({ scheduler: "auto", ownerId });
  const scheduler = resolver.byTarget(run.scheduler, run.target);
  if (!scheduler)
    throw new ExitError(
      EXIT.failed,
      `cannot reach ${run.scheduler} ${run.target} for the logs of run ${run.id}`,
    );
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once("SIGINT", stop);
  try {
    for await (const line of scheduler.logs(
      { kind: "TrainingJob", namespace, name },
      {
        follow: options.follow === true,
        signal: abort.signal,
        ...(replica === undefined ? {} : { replica }),
      },
    )) {
      process.stdout.write(line.endsWith("\n") ? line : `${line}\n`);
    }
  } catch (error) {
    if (!abort.signal.aborted) throw error;
  } finally {
    process.off("SIGINT", stop);
    await scheduler.close();
  }
}

// The step every Nomad benchmark starts from: `count` TrainingJob files, a Nomad double in its own
// process, and one `mlopsctl run --once` over them; "converged" = a status file written for every
// resource (counted in the state directory) and a Nomad job registered for each (counted in the double).
import { join } from "node:path";
import { type JobRef, writeJobs } from "./jobs.ts";
import { jobCount, type NomadProcess, startNomad } from "./nomad.ts";
import { type OnceResult, type OperatorSetup, runOnce } from "./operator.ts";
import { statusFiles } from "./state-files.ts";

export interface Converged {
  readonly refs: JobRef[];
  readonly setup: OperatorSetup;
  readonly nomad: NomadProcess;
  readonly once: OnceResult;
  readonly statusFiles: number;
  readonly nomadJobs: number;
}

export interface ConvergeOptions {
  readonly root: string;
  readonly count: number;
  readonly limitMs: number;
  /** Where the operator sends its Nomad requests (a counting proxy in front of the double), if not the double. */
  readonly nomadVia?: (nomad: NomadProcess) => Promise<string>;
  readonly env?: NodeJS.ProcessEnv;
  /** More arguments of `mlopsctl run --once`. */
  readonly args?: readonly string[];
}

export async function converge(options: ConvergeOptions): Promise<Converged> {
  const dir = join(options.root, "repo");
  const refs = writeJobs(dir, options.count);
  const nomad = await startNomad();
  const nomadAddr = options.nomadVia ? await options.nomadVia(nomad) : nomad.address;
  const setup: OperatorSetup = {
    dir,
    stateDir: join(options.root, "state"),
    nomadAddr,
    ...(options.env ? { env: options.env } : {}),
    ...(options.args ? { args: options.args } : {}),
  };
  const once = await runOnce(setup, join(options.root, "usage-converge.json"), options.limitMs);
  return {
    refs,
    setup,
    nomad,
    once,
    statusFiles: statusFiles(setup.stateDir).length,
    nomadJobs: await jobCount(nomad.address),
  };
}

/** One line saying whether the run converged, for the printed report. */
export function convergedLine(c: Converged, count: number): string {
  const ok = c.statusFiles === count && c.nomadJobs === count && c.once.code === 0;
  return `${ok ? "converged" : "NOT converged"}: ${c.statusFiles}/${count} status files, ${c.nomadJobs}/${count} Nomad jobs, exit ${c.once.code}`;
}

// What `run` records and says about itself: the context other commands read (context.ts), and the
// commands that show this run from another terminal, printed once it is up.
import { resolve } from "node:path";
import type { Logger } from "pino";
import { messageOf } from "../../api/errors.ts";
import { printable } from "../../observability/printable.ts";
import type { Operator } from "../compose.ts";
import { contextHome, contextName, type MlopsContext, recordContext, shortPath } from "../context.ts";
import type { RunOptions } from "./run.ts";

/** Records where this run watches as a context and makes it current (a failure only warns). */
export async function remember(
  options: RunOptions,
  dir: string,
  stateDir: string,
  ownerId: string,
  metricsAddr: string | undefined,
  nomadAddr: string | undefined,
  log: Logger,
): Promise<MlopsContext | undefined> {
  const kubeContext = options.source === "kubernetes" ? (options.context ?? "current") : undefined;
  const context: MlopsContext = {
    name: contextName(options.source, kubeContext ?? dir),
    source: options.source,
    ...(options.source === "directory" ? { dir: resolve(dir) } : {}),
    stateDir,
    ...(metricsAddr ? { metricsAddr } : {}),
    ownerId,
    scheduler: options.scheduler,
    ...(nomadAddr ? { nomadAddr } : {}),
    ...(kubeContext ? { kubeContext } : {}),
    ...(kubeContext && options.kubeconfig ? { kubeconfig: resolve(options.kubeconfig) } : {}),
    startedAt: new Date().toISOString(),
  };
  try {
    await recordContext(context);
    return context;
  } catch (error) {
    log.warn({ err: messageOf(error), home: contextHome() }, "could not record the current context");
    return undefined;
  }
}

/** The commands that show this run from another terminal, exactly as they work from here. */
export function whatNext(context: MlopsContext, operator: Operator): string {
  const bin = process.env.MLOPSCTL_BIN ?? "mlopsctl";
  const job = operator.source.list("TrainingJob")[0];
  const name = job ? safeName(job.metadata.name) : "NAME";
  const ns = job && job.metadata.namespace !== "default" ? ` -n ${safeName(job.metadata.namespace)}` : "";
  const commands: [string, string][] = [
    [`${bin} get tj${ns}`, "the runs"],
    [`${bin} describe tj ${name}${ns}`, "conditions and events"],
    [`${bin} logs tj ${name}${ns} -f`, "the run's output"],
    ...(context.metricsAddr
      ? [[`curl -s http://${context.metricsAddr}/metrics`, "the operator's metrics"] as [string, string]]
      : []),
  ];
  const width = Math.max(...commands.map(([command]) => command.length));
  const lines = [
    "",
    `Watching ${printable(context.dir ? shortPath(context.dir) : context.source)} (context "${context.name}"). In another terminal, from this directory:`,
    ...commands.map(([command, what]) => `  ${command.padEnd(width)}   # ${what}`),
    `${context.source === "kubernetes" ? "kubectl apply or edit a TrainingJob" : "Edit the YAML"} to change a run. Stop the operator with Ctrl-C (runs keep going; the next start picks them up).`,
    "",
  ];
  return `${lines.join("\n")}\n`;
}

/** Names come from files: shown only when they are plain DNS labels (they are, once validated). */
function safeName(name: string): string {
  return /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) ? name : "NAME";
}

// The mlopsctl command tree. Commands register themselves; main.ts runs the program and maps every
// failure to the one exit-code table (exit.ts), never to a stack trace.
import { Command, CommanderError } from "commander";
import { messageOf } from "../api/errors.ts";
import { line } from "../observability/printable.ts";
import { EXIT, ExitError } from "./exit.ts";

type Register = (program: Command) => void;

/**
 * Each command's module, loaded only when the command runs: `version` loads no client at all, and
 * `get`, `describe` and `validate` none of the scheduler, Docker, Kubernetes or Grafana clients that
 * `run` and `plan` import (those two load the Docker client on its first call, see
 * src/clients/docker/lazy.ts). In help order.
 */
const COMMANDS: Readonly<Record<string, () => Promise<Register>>> = {
  run: async () => (await import("./commands/run.ts")).registerRun,
  validate: async () => (await import("./commands/validate.ts")).registerValidate,
  plan: async () => (await import("./commands/plan.ts")).registerPlan,
  get: async () => (await import("./commands/get.ts")).registerGet,
  describe: async () => (await import("./commands/describe.ts")).registerDescribe,
  logs: async () => (await import("./commands/logs.ts")).registerLogs,
  wait: async () => (await import("./commands/wait.ts")).registerWait,
  config: async () => (await import("./commands/config.ts")).registerConfig,
  version: async () => (await import("./commands/version.ts")).registerVersion,
};

/**
 * The command tree: only `command` when it names one (what a run of that command needs), else
 * every command (help, usage errors).
 */
export async function buildProgram(command?: string): Promise<Command> {
  const program = new Command("mlopsctl")
    .description("GitOps operator for ML platforms on Nomad and Consul: TrainingJob and MlopsStack resources")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  const only = command !== undefined ? COMMANDS[command] : undefined;
  const loaders = only ? [only] : Object.values(COMMANDS);
  const registers = await Promise.all(loaders.map((load) => load()));
  for (const register of registers) register(program);
  return program;
}

/** Runs mlopsctl with argv (without node and script) and returns the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  // mlopsctl has no global options: the first argument names the command (or asks for help).
  const program = await buildProgram(argv[0]);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === "commander.helpDisplayed" ||
        error.code === "commander.version" ||
        error.exitCode === 0
      ) {
        return EXIT.ok;
      }
      return EXIT.usage;
    }
    if (error instanceof ExitError) {
      if (error.message) process.stderr.write(line(`mlopsctl: ${error.message}`));
      return error.code;
    }
    process.stderr.write(line(`mlopsctl: ${messageOf(error)}`));
    return EXIT.failed;
  }
}

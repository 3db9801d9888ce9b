// The mlopsctl command tree. Commands register themselves; main.ts runs the program and maps every
// failure to the one exit-code table (exit.ts), never to a stack trace.
import { Command, CommanderError } from "commander";
import { messageOf } from "../api/errors.ts";
import { line } from "../observability/printable.ts";
import { registerConfig } from "./commands/config.ts";
import { registerDescribe } from "./commands/describe.ts";
import { registerGet } from "./commands/get.ts";
import { registerLogs } from "./commands/logs.ts";
import { registerPlan } from "./commands/plan.ts";
import { registerRun } from "./commands/run.ts";
import { registerValidate } from "./commands/validate.ts";
import { registerVersion } from "./commands/version.ts";
import { registerWait } from "./commands/wait.ts";
import { EXIT, ExitError } from "./exit.ts";

export function buildProgram(): Command {
  const program = new Command("mlopsctl")
    .description("GitOps operator for ML platforms on Nomad and Consul: TrainingJob and MlopsStack resources")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  registerRun(program);
  registerValidate(program);
  registerPlan(program);
  registerGet(program);
  registerDescribe(program);
  registerLogs(program);
  registerWait(program);
  registerConfig(program);
  registerVersion(program);
  return program;
}

/** Runs mlopsctl with argv (without node and script) and returns the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
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

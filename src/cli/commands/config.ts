// `mlopsctl config current-context|get-contexts|use-context NAME`: the contexts `mlopsctl run`
// records (context.ts), shown and switched as kubectl's `config` does.
import type { Command } from "commander";
import { currentContextName, listContexts, shortPath, useContext } from "../context.ts";
import { EXIT, ExitError } from "../exit.ts";
import { table } from "../output.ts";

export function registerConfig(program: Command): void {
  const config = program.command("config").description("show or switch the contexts `mlopsctl run` records");
  config
    .command("current-context")
    .description("print the current context's name")
    .action(() => {
      const name = currentContextName();
      if (name === undefined) {
        throw new ExitError(EXIT.failed, "current-context is not set (`mlopsctl run` sets it)");
      }
      process.stdout.write(`${name}\n`);
    });
  config
    .command("get-contexts")
    .description("list the recorded contexts; * marks the current one")
    .action(() => {
      process.stdout.write(contextsTable());
    });
  config
    .command("use-context")
    .description("make a recorded context the current one")
    .argument("<name>", "a context name (see get-contexts)")
    .action(async (name: string) => {
      const context = await useContext(name);
      process.stdout.write(`Switched to context "${context.name}".\n`);
    });
}

export function contextsTable(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  const { contexts, problems } = listContexts(env);
  for (const problem of problems) process.stderr.write(`mlopsctl: skipped ${problem}\n`);
  let current: string | undefined;
  try {
    current = currentContextName(env);
  } catch (error) {
    process.stderr.write(`mlopsctl: ${(error as Error).message}\n`);
  }
  const rows = contexts.map((c) => [
    c.name === current ? "*" : "",
    c.name,
    c.source,
    c.source === "directory" && c.dir ? shortPath(c.dir, cwd) : (c.kubeContext ?? ""),
    shortPath(c.stateDir, cwd),
    c.metricsAddr ?? "<none>",
  ]);
  return table(["CURRENT", "NAME", "SOURCE", "WATCHES", "STATE DIRECTORY", "METRICS"], rows);
}

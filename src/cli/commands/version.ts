import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { PACKAGE_JSON } from "../../api/paths.ts";
import { API_VERSION } from "../../api/resources.ts";

export function version(): { version: string; apiVersion: string; node: string } {
  const pkg = JSON.parse(readFileSync(PACKAGE_JSON, "utf8")) as {
    version: string;
  };
  return { version: pkg.version, apiVersion: API_VERSION, node: process.version };
}

export function registerVersion(program: Command): void {
  program
    .command("version")
    .description("print the operator's version, the resource API version and the Node.js version")
    .option("-o, --output <format>", "json for machine-readable output")
    .action((options: { output?: string }) => {
      const v = version();
      process.stdout.write(
        options.output === "json"
          ? `${JSON.stringify(v)}\n`
          : `mlopsctl ${v.version} (resources ${v.apiVersion}, node ${v.node})\n`,
      );
    });
}

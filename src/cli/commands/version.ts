import { readFileSync } from "node:fs";
import { type Command, InvalidArgumentError } from "commander";
import { PACKAGE_JSON } from "../../api/paths.ts";
import { API_VERSION } from "../../api/resources.ts";
import { toYaml } from "../output.ts";

export function version(): { version: string; apiVersion: string; node: string } {
  const pkg = JSON.parse(readFileSync(PACKAGE_JSON, "utf8")) as {
    version: string;
  };
  return { version: pkg.version, apiVersion: API_VERSION, node: process.version };
}

/** kubectl version's output formats. */
function parseVersionOutput(value: string): "json" | "yaml" {
  if (value === "json" || value === "yaml") return value;
  throw new InvalidArgumentError("expected json or yaml");
}

export function registerVersion(program: Command): void {
  program
    .command("version")
    .description("print the operator's version, the resource API version and the Node.js version")
    .option("-o, --output <format>", "json or yaml for machine-readable output", parseVersionOutput)
    .action((options: { output?: "json" | "yaml" }) => {
      const v = version();
      process.stdout.write(
        options.output === "json"
          ? `${JSON.stringify(v)}\n`
          : options.output === "yaml"
            ? toYaml(v)
            : `mlopsctl ${v.version} (resources ${v.apiVersion}, node ${v.node})\n`,
      );
    });
}

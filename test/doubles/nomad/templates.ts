// The task templates a Nomad client renders, for the one form the operator writes:
// `{{ with nomadVar "<path>" }}NAME={{ .KEY | toJSON }}\n…{{ end }}` with Envvars (env = true). The
// rendered `NAME="value"` lines become the task's environment. A missing Variable is what a real
// client reports while its template blocks ("Missing: nomad.var.block(...)"); any other template
// is refused: the double does not pretend to run consul-template.
import type { NomadTask } from "../../../src/clients/nomad/types.ts";

const WITH = /^\{\{ with nomadVar "([^"]+)" \}\}([\s\S]*)\{\{ end \}\}$/;
const LINE = /^([A-Za-z_][A-Za-z0-9_]*)=\{\{ \.([A-Za-z_][A-Za-z0-9_]*) \| toJSON \}\}$/;

export type VariableLookup = (path: string) => Readonly<Record<string, string>> | undefined;

/** The environment the task's env templates render to. Throws what the client would report. */
export function templateEnv(task: NomadTask, variable: VariableLookup): Record<string, string> {
  const env: Record<string, string> = {};
  for (const template of task.Templates ?? []) {
    if (!template.Envvars) continue;
    const match = WITH.exec(template.EmbeddedTmpl);
    if (!match)
      throw new Error(`the Nomad double renders only nomadVar env templates: ${template.EmbeddedTmpl}`);
    const path = match[1] ?? "";
    const items = variable(path);
    if (!items) throw new Error(`Template: Missing: nomad.var.block(${path})`);
    for (const line of (match[2] ?? "").split("\n").filter((l) => l !== "")) {
      const parts = LINE.exec(line);
      if (!parts) throw new Error(`the Nomad double cannot render the template line ${line}`);
      // toJSON quotes the item and the env file parser unquotes it: the value arrives as it was.
      env[parts[1] ?? ""] = items[parts[2] ?? ""] ?? "<no value>";
    }
  }
  return env;
}

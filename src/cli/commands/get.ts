// `mlopsctl get trainingjobs|mlopsstacks [NAME]`: what the state directory says, as kubectl prints
// it (tables by default; -o wide|json|yaml). Reads files only: no running operator needed.
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { findCondition } from "../../api/conditions.ts";
import { checkLabel } from "../../api/names.ts";
import { DEFAULT_NAMESPACE, type Kind, kindFromAlias, makeKey } from "../../api/resources.ts";
import { line } from "../../observability/printable.ts";
import {
  listRecords,
  readRecord,
  recordToResource,
  resolveStateDir,
  type StatusRecord,
} from "../../sources/state/index.ts";
import { EXIT, ExitError } from "../exit.ts";
import { age, table, toJson, toYaml } from "../output.ts";

export interface StateOptions {
  dir: string;
  stateDir?: string;
  namespace?: string;
  allNamespaces?: boolean;
}

export interface GetOptions extends StateOptions {
  output?: string;
}

const PLURAL: Record<Kind, string> = { TrainingJob: "trainingjobs", MlopsStack: "mlopsstacks" };

export function kindArgument(alias: string): Kind {
  const kind = kindFromAlias(alias);
  if (!kind) {
    throw new ExitError(
      EXIT.usage,
      `unknown resource type "${alias}": use trainingjobs (tj) or mlopsstacks (ms)`,
    );
  }
  return kind;
}

export function nameArgument(name: string, what = "name"): string {
  const problem = checkLabel(name);
  if (problem) throw new ExitError(EXIT.usage, `invalid ${what} "${name}": ${problem}`);
  return name;
}

export function stateDirOf(options: StateOptions): string {
  return resolveStateDir(options.stateDir, options.dir);
}

/** The state-directory options every reading command takes. */
export function withStateOptions(command: Command): Command {
  return command
    .option("--dir <dir>", "the watched directory (to derive the default state directory)", ".")
    .option(
      "--state-dir <dir>",
      "the state directory (default: $MLOPS_STATE_DIR, else <dir>/../.mlops-state/<name of dir>)",
    )
    .option("-n, --namespace <namespace>", "namespace", DEFAULT_NAMESPACE);
}

export function rowsFor(
  kind: Kind,
  records: readonly StatusRecord[],
  wide: boolean,
  withNamespace: boolean,
  now: Date,
): string {
  const headers =
    kind === "TrainingJob"
      ? ["NAME", "PHASE", "READY", "AGE", ...(wide ? ["RUN", "SCHEDULER", "RESTARTS", "REASON"] : [])]
      : ["NAME", "READY", "AGE", ...(wide ? ["ENDPOINTS"] : [])];
  const rows = records.map((r) => {
    const status = r.status as Record<string, unknown> & { conditions?: never };
    const ready = findCondition(status.conditions, "Ready");
    const created = age(r.metadata.creationTimestamp, now);
    let cells: string[];
    if (kind === "TrainingJob") {
      const run = (status.run ?? {}) as { id?: string; scheduler?: string; restarts?: number };
      cells = [r.metadata.name, String(status.phase ?? ""), ready?.status ?? "Unknown", created];
      if (wide)
        cells.push(
          run.id ?? "<none>",
          run.scheduler ?? "<none>",
          String(run.restarts ?? 0),
          ready?.reason ?? "",
        );
    } else {
      cells = [r.metadata.name, ready?.status ?? "Unknown", created];
      if (wide) cells.push(endpoints(status.endpoints));
    }
    return withNamespace ? [r.metadata.namespace, ...cells] : cells;
  });
  return table(withNamespace ? ["NAMESPACE", ...headers] : headers, rows);
}

function endpoints(value: unknown): string {
  if (value === null || typeof value !== "object") return "<none>";
  const parts = Object.entries(value as Record<string, { host?: string; internal?: string } | undefined>)
    .map(([name, e]) => (e?.host || e?.internal ? `${name}=${e.host || e.internal}` : ""))
    .filter((p) => p !== "");
  return parts.length > 0 ? parts.join(",") : "<none>";
}

export async function get(kindAlias: string, name: string | undefined, options: GetOptions): Promise<string> {
  const kind = kindArgument(kindAlias);
  const format = options.output ?? "";
  if (!["", "wide", "json", "yaml"].includes(format)) {
    throw new ExitError(EXIT.usage, `unknown output format "${format}": use wide, json or yaml`);
  }
  const stateDir = stateDirOf(options);
  const namespace = nameArgument(options.namespace ?? DEFAULT_NAMESPACE, "namespace");
  if (name !== undefined) {
    const record = await readRecord(stateDir, makeKey(kind, namespace, nameArgument(name)));
    if (!record)
      throw new ExitError(
        EXIT.failed,
        `${PLURAL[kind]} "${name}" not found in namespace ${namespace} (state directory ${stateDir})`,
      );
    if (format === "json") return toJson(recordToResource(record));
    if (format === "yaml") return toYaml(recordToResource(record));
    return rowsFor(kind, [record], format === "wide", false, new Date());
  }
  const records = await listRecords(stateDir, kind, options.allNamespaces ? undefined : namespace);
  if (format === "json" || format === "yaml") {
    const list = {
      apiVersion: "v1",
      kind: "List",
      items: records.map((r) => recordToResource(r)),
      metadata: { resourceVersion: "" },
    };
    return format === "json" ? toJson(list) : toYaml(list);
  }
  if (records.length === 0) {
    const where = options.allNamespaces ? "" : ` in ${namespace} namespace`;
    const hint = existsSync(stateDir)
      ? ""
      : ` (state directory ${stateDir} does not exist: has \`mlopsctl run\` run there?)`;
    process.stderr.write(line(`No resources found${where}.${hint}`));
    return "";
  }
  return rowsFor(kind, records, format === "wide", options.allNamespaces === true, new Date());
}

export function registerGet(program: Command): void {
  withStateOptions(
    program
      .command("get")
      .description("list TrainingJobs or MlopsStacks from the state directory (no running operator needed)")
      .argument("<kind>", "trainingjobs (tj) or mlopsstacks (ms)")
      .argument("[name]", "one resource"),
  )
    .option("-A, --all-namespaces", "every namespace")
    .option("-o, --output <format>", "wide, json or yaml")
    .action(async (kind: string, name: string | undefined, options: GetOptions) => {
      process.stdout.write(await get(kind, name, options));
    });
}

// `mlopsctl get trainingjobs|mlopsstacks [NAME]`: what the state directory says, as kubectl prints
// it (tables by default; -o wide|json|yaml). Reads files only: no running operator needed. In
// Kubernetes mode (a Kubernetes context, or --kubeconfig) it reads the API instead (kube-read.ts),
// and `get -w` watches it (kube-watch.ts).
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { kindChoices, kindFromAlias, kindInfo } from "../../api/kinds.ts";
import { checkLabel } from "../../api/names.ts";
import { DEFAULT_NAMESPACE, type Kind, makeKey } from "../../api/resources.ts";
import { line, printable } from "../../observability/printable.ts";
// The modules themselves, not the state directory's index: that loads the operator's writer (and
// rxjs, 223 CommonJS files: a sixth of `get`'s time at 10,000 records). `get -w` loads watch.ts.
import { resolveStateDir } from "../../sources/state/paths.ts";
import { listRecords, readRecord, recordToResource, type StatusRecord } from "../../sources/state/record.ts";
import { columnsOf } from "../columns.ts";
import { contextNotice, resolveTarget } from "../context.ts";
import { EXIT, ExitError } from "../exit.ts";
import { untilInterrupted } from "../interrupt.ts";
import type { KubeTarget } from "../kube-read.ts";
import { age, table, toJson, toYaml } from "../output.ts";

export interface StateOptions {
  dir?: string;
  stateDir?: string;
  mlopsContext?: string;
  namespace?: string;
  allNamespaces?: boolean;
}

export interface GetOptions extends StateOptions {
  output?: string;
  watch?: boolean;
  /** Kubernetes mode: read the API through this kubeconfig file. */
  kubeconfig?: string;
}

export function kindArgument(alias: string): Kind {
  const kind = kindFromAlias(alias);
  if (!kind) {
    throw new ExitError(EXIT.usage, `unknown resource type "${alias}": use ${kindChoices()}`);
  }
  return kind;
}

export function nameArgument(name: string, what = "name"): string {
  const problem = checkLabel(name);
  if (problem) throw new ExitError(EXIT.usage, `invalid ${what} "${name}": ${problem}`);
  return name;
}

/** Where a reading command reads: flags, then $MLOPS_STATE_DIR, then a context (see context.ts). */
export interface ReadTarget {
  readonly dir: string;
  readonly stateDir: string;
  /** The owner id of the run that recorded the context, when a context chose the target. */
  readonly ownerId?: string;
  readonly nomadAddr?: string;
}

const announced = new Set<string>();

/** Resolves the target once per command and says on stderr which context it read, if any. */
export function targetOf(options: StateOptions): ReadTarget {
  const target = resolveTarget(options);
  const context = target.context;
  if (context?.source === "kubernetes") {
    throw new ExitError(
      EXIT.usage,
      `context "${context.name}" is a Kubernetes context: status lives on the cluster (mlopsctl get [-w], kubectl describe); pass --dir or --state-dir to read a state directory`,
    );
  }
  const notice = contextNotice(target);
  if (notice && !announced.has(notice)) {
    announced.add(notice);
    process.stderr.write(`${notice}\n`);
  }
  return {
    dir: target.dir,
    stateDir: target.stateDir ? resolve(target.stateDir) : resolveStateDir(undefined, target.dir),
    ...(context?.ownerId ? { ownerId: context.ownerId } : {}),
    ...(context?.nomadAddr ? { nomadAddr: context.nomadAddr } : {}),
  };
}

export function stateDirOf(options: StateOptions): string {
  return targetOf(options).stateDir;
}

/** The state-directory options every reading command takes. */
export function withStateOptions(command: Command): Command {
  return command
    .option(
      "--dir <dir>",
      "the watched directory (to derive the default state directory; default: the current context)",
    )
    .option(
      "--state-dir <dir>",
      "the state directory (default: $MLOPS_STATE_DIR, else the current context, else ../.mlops-state/<name of .>)",
    )
    .option(
      "--mlops-context <name>",
      "read the run recorded as this context (default: $MLOPSCTL_CONTEXT, else the current one)",
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
  const { headers, cells } = columnsOf(kind, wide);
  const rows = records.map((r) => {
    const row = cells(r, age(r.metadata.creationTimestamp, now));
    return withNamespace ? [r.metadata.namespace, ...row] : row;
  });
  return table(withNamespace ? ["NAMESPACE", ...headers] : headers, rows);
}

export async function get(kindAlias: string, name: string | undefined, options: GetOptions): Promise<string> {
  const kind = kindArgument(kindAlias);
  const format = options.output ?? "";
  if (!["", "wide", "json", "yaml"].includes(format)) {
    throw new ExitError(EXIT.usage, `unknown output format "${format}": use wide, json or yaml`);
  }
  const namespace = nameArgument(options.namespace ?? DEFAULT_NAMESPACE, "namespace");
  const kube = kubeTargetOf(options);
  if (kube) {
    const { kubeGet } = await import("../kube-read.ts");
    return kubeGet({
      kind,
      name: name === undefined ? undefined : nameArgument(name),
      namespace: options.allNamespaces && name === undefined ? undefined : namespace,
      format,
      target: kube,
      table: (records, withNamespace) => rowsFor(kind, records, format === "wide", withNamespace, new Date()),
    });
  }
  const stateDir = stateDirOf(options);
  if (name !== undefined) {
    const record = await readRecord(stateDir, makeKey(kind, namespace, nameArgument(name)));
    if (!record)
      throw new ExitError(
        EXIT.failed,
        `${kindInfo(kind).plural} "${name}" not found in namespace ${namespace} (state directory ${stateDir})`,
      );
    if (format === "json") return toJson(recordToResource(record));
    if (format === "yaml") return toYaml(recordToResource(record));
    return rowsFor(kind, [record], format === "wide", false, new Date());
  }
  const records = await listRecords(stateDir, kind, options.allNamespaces ? undefined : namespace, {
    intern: false,
  });
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

// `get -w`: the table, then one line per change, like `kubectl get -w`, until the signal aborts.
export interface WatchIo {
  readonly signal: AbortSignal;
  readonly write: (text: string) => void;
  /** Rescan interval when fs.watch reports nothing. */
  readonly pollMs?: number;
}

export async function getWatch(kindAlias: string, options: GetOptions, io: WatchIo): Promise<void> {
  const kind = kindArgument(kindAlias);
  const format = options.output ?? "";
  if (!["", "wide", "json", "yaml"].includes(format)) {
    throw new ExitError(EXIT.usage, `unknown output format "${format}": use wide, json or yaml`);
  }
  const namespace = options.allNamespaces
    ? undefined
    : nameArgument(options.namespace ?? DEFAULT_NAMESPACE, "namespace");
  const kube = kubeTargetOf(options);
  if (kube) {
    const show = lineFor(kind, format, namespace === undefined);
    const { kubeGetWatch } = await import("../kube-watch.ts");
    await kubeGetWatch({
      kind,
      namespace,
      format,
      target: kube,
      signal: io.signal,
      write: io.write,
      table: (records) => rowsFor(kind, records, format === "wide", namespace === undefined, new Date()),
      line: (record) => show.row(record),
      widths: (header) => show.widths(header),
    });
    return;
  }
  const stateDir = stateDirOf(options);
  const { listScope, watchRecords } = await import("../../sources/state/watch.ts");
  const initial = await listScope(stateDir, { kind, ...(namespace ? { namespace } : {}) });
  const show = lineFor(kind, format, namespace === undefined);
  if (format === "" || format === "wide") {
    if (initial.length > 0) {
      const text = rowsFor(kind, initial, format === "wide", namespace === undefined, new Date());
      io.write(text);
      show.widths(text.split("\n")[0] ?? "");
    }
  } else {
    for (const record of initial) io.write(show.row(record));
  }
  const events = watchRecords(stateDir, initial, {
    kind,
    ...(namespace ? { namespace } : {}),
    signal: io.signal,
    ...(io.pollMs ? { pollMs: io.pollMs } : {}),
  });
  for await (const event of events) io.write(show.row(event.record));
}

/** Kubernetes mode: --kubeconfig, or a Kubernetes context (what `run --source kubernetes` recorded). */
export function kubeTargetOf(options: StateOptions & { kubeconfig?: string }): KubeTarget | undefined {
  if (options.kubeconfig !== undefined) return { kubeconfig: options.kubeconfig };
  const target = resolveTarget(options);
  const context = target.context;
  if (context?.source !== "kubernetes") return undefined;
  const notice = contextNotice(target);
  if (notice && !announced.has(notice)) {
    announced.add(notice);
    process.stderr.write(`${notice}\n`);
  }
  return {
    ...(context.kubeconfig ? { kubeconfig: context.kubeconfig } : {}),
    ...(context.kubeContext && context.kubeContext !== "current" ? { context: context.kubeContext } : {}),
  };
}

/**
 * One printed change per record; for tables, padded to the widths of the header first printed. A
 * watch that started with nothing to list prints the header before its first line, as kubectl does.
 */
function lineFor(kind: Kind, format: string, withNamespace: boolean) {
  let widths: number[] | undefined;
  const wide = format === "wide";
  const { headers, cells } = columnsOf(kind, wide);
  const allHeaders = withNamespace ? ["NAMESPACE", ...headers] : headers;
  const alignTo = (headerLine: string): void => {
    // Each column starts where its header starts in the printed header line.
    let from = 0;
    const starts = allHeaders.map((h) => {
      from = headerLine.indexOf(h, from);
      return from;
    });
    widths = starts.map((start, i) => (starts[i + 1] ?? start) - start - 3);
  };
  return {
    widths: alignTo,
    row(record: StatusRecord): string {
      if (format === "json") return toJson(recordToResource(record));
      if (format === "yaml") return `---\n${toYaml(recordToResource(record))}`;
      const row = cells(record, age(record.metadata.creationTimestamp, new Date()));
      const all = (withNamespace ? [record.metadata.namespace, ...row] : row).map(printable);
      let header = "";
      if (widths === undefined) {
        header = table(allHeaders, [all]).split("\n")[0] ?? "";
        alignTo(header);
        header += "\n";
      }
      return `${header}${all
        .map((cell, i) =>
          i === all.length - 1 ? cell : cell.padEnd(Math.max(widths?.[i] ?? 0, cell.length) + 3),
        )
        .join("")
        .trimEnd()}\n`;
    },
  };
}

export function registerGet(program: Command): void {
  withStateOptions(
    program
      .command("get")
      .description(
        "list resources from the state directory (no running operator needed), or from the API in Kubernetes mode",
      )
      .argument("<kind>", kindChoices())
      .argument("[name]", "one resource"),
  )
    .option("-A, --all-namespaces", "every namespace")
    .option("-o, --output <format>", "wide, json or yaml")
    .option("-w, --watch", "after the list, print a line per change until Ctrl-C")
    .option(
      "--kubeconfig <file>",
      "read (and with -w watch) the Kubernetes API through this kubeconfig (a Kubernetes context does so without it)",
    )
    .action(async (kind: string, name: string | undefined, options: GetOptions) => {
      if (options.watch) {
        if (name !== undefined) throw new ExitError(EXIT.usage, "get -w lists a kind: leave out the name");
        await untilInterrupted((signal) =>
          getWatch(kind, options, { signal, write: (text) => process.stdout.write(text) }),
        );
        return;
      }
      process.stdout.write(await get(kind, name, options));
    });
}

// mlopsctl's contexts, as kubectl has them: `mlopsctl run` records where it runs (source, watched
// directory, state directory, metrics address, owner id) as a named context and makes it current,
// so `get`, `describe`, `logs` and `plan` typed in another terminal read that run without flags.
//
// Layout, under $XDG_STATE_HOME/mlopsctl/ (default ~/.local/state/mlopsctl/):
//   contexts/<name>.json   one file per context, replaced atomically (two operators started at
//                          once each write their own file: neither loses the other's)
//   current-context        the name of the current context
import { readdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join, relative, resolve } from "node:path";
import { checkLabel } from "../api/names.ts";
import { printable } from "../observability/printable.ts";
import { writeFileAtomic } from "../sources/state/atomic.ts";

export interface MlopsContext {
  readonly name: string;
  readonly source: "directory" | "kubernetes";
  /** The watched directory, absolute (directory source). */
  readonly dir?: string;
  readonly stateDir: string;
  /** Where /metrics, /healthz and /readyz answer (absent when the run serves none). */
  readonly metricsAddr?: string;
  readonly ownerId?: string;
  readonly scheduler?: string;
  readonly nomadAddr?: string;
  readonly kubeContext?: string;
  /** The kubeconfig file `run --kubeconfig` named, absolute (absent: the default chain). */
  readonly kubeconfig?: string;
  /** When the run that wrote it started (ISO 8601). */
  readonly startedAt: string;
}

export class ContextError extends Error {
  readonly reason = "ContextInvalid";
}

export function contextHome(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME ? resolve(env.XDG_STATE_HOME) : join(homedir(), ".local", "state");
  return join(base, "mlopsctl");
}

const contextFile = (home: string, name: string): string => join(home, "contexts", `${name}.json`);
const currentFile = (home: string): string => join(home, "current-context");

/**
 * A context name from the watched directory's base name (or `kubernetes-<kubeconfig context>`),
 * lowercased and reduced to a DNS-1123 label so it is safe as a file name and on a terminal.
 */
export function contextName(source: "directory" | "kubernetes", dirOrKubeContext: string): string {
  const raw =
    source === "kubernetes" ? `kubernetes-${dirOrKubeContext}` : basename(resolve(dirOrKubeContext));
  const name = raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  return name === "" ? "default" : name;
}

/** Records a context and makes it current. Both files are replaced atomically. */
export async function recordContext(
  context: MlopsContext,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const home = contextHome(env);
  checkName(context.name, home);
  await writeFileAtomic(contextFile(home, context.name), `${JSON.stringify(context, null, 2)}\n`);
  await writeFileAtomic(currentFile(home), `${context.name}\n`);
}

export async function useContext(name: string, env: NodeJS.ProcessEnv = process.env): Promise<MlopsContext> {
  const home = contextHome(env);
  const context = readContext(name, env);
  if (!context) throw new ContextError(`no context "${name}" in ${join(home, "contexts")}${known(env)}`);
  await writeFileAtomic(currentFile(home), `${name}\n`);
  return context;
}

/** The current context's name, or undefined when none was set (a missing file is not an error). */
export function currentContextName(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = currentFile(contextHome(env));
  const text = readOptional(path);
  if (text === undefined) return undefined;
  const name = text.trim();
  if (name === "") return undefined;
  if (checkLabel(name) !== undefined)
    throw new ContextError(
      `${path}: "${printable(name)}" is not a context name; run \`mlopsctl run\` again or remove the file`,
    );
  return name;
}

/** One context by name; undefined when it does not exist. A corrupt file is an error naming it. */
export function readContext(name: string, env: NodeJS.ProcessEnv = process.env): MlopsContext | undefined {
  const home = contextHome(env);
  checkName(name, home);
  const path = contextFile(home, name);
  const text = readOptional(path);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ContextError(
      `${path}: not valid JSON (${(error as Error).message}); run \`mlopsctl run\` again or remove the file`,
    );
  }
  const problem = shapeProblem(value);
  if (problem) throw new ContextError(`${path}: ${problem}; run \`mlopsctl run\` again or remove the file`);
  return { ...(value as MlopsContext), name };
}

/** Every context that reads cleanly, by name, and the files that do not. */
export function listContexts(env: NodeJS.ProcessEnv = process.env): {
  contexts: MlopsContext[];
  problems: string[];
} {
  const dir = join(contextHome(env), "contexts");
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { contexts: [], problems: [] };
    throw error;
  }
  const contexts: MlopsContext[] = [];
  const problems: string[] = [];
  for (const entry of entries.sort()) {
    if (!entry.endsWith(".json") || entry.startsWith(".")) continue;
    try {
      const context = readContext(entry.slice(0, -".json".length), env);
      if (context) contexts.push(context);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  return { contexts, problems };
}

/** Where a reading command looks, and why. */
export interface Target {
  readonly dir: string;
  readonly stateDir?: string;
  readonly context?: MlopsContext;
}

export interface TargetOptions {
  readonly dir?: string;
  readonly stateDir?: string;
  readonly mlopsContext?: string;
}

/**
 * Precedence: --dir/--state-dir > MLOPS_STATE_DIR > --mlops-context NAME / MLOPSCTL_CONTEXT >
 * the current context > the current directory. A state directory left undefined is derived from
 * `dir` by the caller (resolveStateDir), as before contexts existed.
 */
export function resolveTarget(options: TargetOptions, env: NodeJS.ProcessEnv = process.env): Target {
  if (options.dir !== undefined || options.stateDir !== undefined) {
    return { dir: options.dir ?? ".", ...(options.stateDir ? { stateDir: options.stateDir } : {}) };
  }
  if (env.MLOPS_STATE_DIR) return { dir: ".", stateDir: env.MLOPS_STATE_DIR };
  const named = options.mlopsContext ?? (env.MLOPSCTL_CONTEXT || undefined);
  if (named !== undefined) {
    const context = readContext(named, env);
    if (!context) {
      const from = options.mlopsContext !== undefined ? "--mlops-context" : "MLOPSCTL_CONTEXT";
      throw new ContextError(`${from}: no context "${printable(named)}"${known(env)}`);
    }
    return fromContext(context);
  }
  const current = currentContextName(env);
  const context = current === undefined ? undefined : readContext(current, env);
  return context ? fromContext(context) : { dir: "." };
}

function fromContext(context: MlopsContext): Target {
  return { dir: context.dir ?? ".", stateDir: context.stateDir, context };
}

/** The line a reading command prints (to stderr) when a context chose where it reads. */
export function contextNotice(target: Target, cwd: string = process.cwd()): string | undefined {
  const context = target.context;
  if (!context) return undefined;
  const where = context.dir ? shortPath(context.dir, cwd) : context.source;
  return printable(
    `mlopsctl: context "${context.name}" (${where}, state directory ${shortPath(context.stateDir, cwd)})`,
  );
}

export function shortPath(path: string, cwd: string = process.cwd()): string {
  const rel = relative(cwd, path);
  return rel === "" ? "." : rel.startsWith("..") && rel.split("/").length > 3 ? path : rel;
}

function known(env: NodeJS.ProcessEnv): string {
  const names = listContexts(env).contexts.map((c) => c.name);
  return names.length > 0
    ? ` (known: ${names.join(", ")})`
    : " (none recorded yet: `mlopsctl run` records one)";
}

function checkName(name: string, home: string): void {
  const problem = checkLabel(name);
  if (problem !== undefined)
    throw new ContextError(
      `invalid context name "${printable(name)}" (${problem}); contexts live in ${home}`,
    );
}

function shapeProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return "not a JSON object";
  const v = value as Record<string, unknown>;
  if (v.source !== "directory" && v.source !== "kubernetes")
    return 'source must be "directory" or "kubernetes"';
  if (typeof v.stateDir !== "string" || v.stateDir === "") return "stateDir must be a path";
  if (v.source === "directory" && (typeof v.dir !== "string" || v.dir === "")) return "dir must be a path";
  for (const field of [
    "metricsAddr",
    "ownerId",
    "scheduler",
    "nomadAddr",
    "kubeContext",
    "kubeconfig",
    "startedAt",
  ]) {
    if (v[field] !== undefined && typeof v[field] !== "string") return `${field} must be a string`;
  }
  return undefined;
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ContextError(`${path}: cannot read (${(error as Error).message})`);
  }
}

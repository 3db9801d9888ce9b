// Where the state directory is and how it is laid out (docs/state-directory.md).
import { realpathSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { isKind } from "../../api/kinds.ts";
import { checkLabel, stateFileName } from "../../api/names.ts";
import { parseKey, type ResourceKey } from "../../api/resources.ts";

/** `<dir>/../.mlops-state/<basename of dir>`, from the directory's real path: outside the watched tree. */
export function defaultStateDir(dir: string): string {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    real = resolve(dir);
  }
  return join(dirname(real), ".mlops-state", basename(real) || "root");
}

/** --state-dir, else MLOPS_STATE_DIR, else the default derived from the watched directory. */
export function resolveStateDir(
  flag: string | undefined,
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (flag) return resolve(flag);
  if (env.MLOPS_STATE_DIR) return resolve(env.MLOPS_STATE_DIR);
  return defaultStateDir(dir);
}

export function statusPath(stateDir: string, key: ResourceKey): string {
  const { kind, namespace, name } = safeParts(key);
  return base(stateDir, "status") + stateFileName(kind, namespace, name);
}

export function eventsPath(stateDir: string, key: ResourceKey): string {
  const { kind, namespace, name } = safeParts(key);
  return `${base(stateDir, "events") + stateFileName(kind, namespace, name).slice(0, -".json".length)}.jsonl`;
}

/**
 * `join(stateDir, folder)` and a slash, joined once per state directory: the file name appended is
 * `kind/namespace/name.json` of checked labels (no `.`, `..` or empty segment), which join would
 * leave as it is; its normalization, per status write and read, allocated more than any other path
 * operation (docs/benchmarks.md, Round 9).
 */
function base(stateDir: string, folder: "status" | "events"): string {
  const bases = lastBases;
  if (bases.stateDir !== stateDir) {
    lastBases = { stateDir, status: `${join(stateDir, "status")}/`, events: `${join(stateDir, "events")}/` };
    return lastBases[folder];
  }
  return bases[folder];
}

let lastBases = { stateDir: "", status: "status/", events: "events/" };

export const generationsPath = (stateDir: string): string => join(stateDir, "generations.json");
export const lockPath = (stateDir: string): string => join(stateDir, "lock");

function labelProblem(part: "namespace" | "name", value: string): string | undefined {
  const problem = checkLabel(value);
  return problem === undefined ? undefined : `the ${part} ${problem}`;
}

/** Key parts checked as DNS-1123 labels before they become path segments (no `..`, no `/`). */
function safeParts(key: ResourceKey): ReturnType<typeof parseKey> {
  // Exactly two slashes (kind/namespace/name), counted without splitting.
  const second = key.indexOf("/", key.indexOf("/") + 1);
  const parts = parseKey(key);
  const problem =
    second === -1 || key.indexOf("/", second + 1) !== -1
      ? "a key is kind/namespace/name"
      : !isKind(parts.kind)
        ? `no kind is named ${JSON.stringify(parts.kind)}`
        : (labelProblem("namespace", parts.namespace) ?? labelProblem("name", parts.name));
  if (problem !== undefined) throw new Error(`refusing a state file for ${JSON.stringify(key)}: ${problem}`);
  return parts;
}

// Where the state directory is and how it is laid out (docs/state-directory.md).
import { realpathSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
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
  return join(stateDir, "status", stateFileName(kind, namespace, name));
}

export function eventsPath(stateDir: string, key: ResourceKey): string {
  const { kind, namespace, name } = safeParts(key);
  return join(stateDir, "events", stateFileName(kind, namespace, name).replace(/\.json$/, ".jsonl"));
}

export const generationsPath = (stateDir: string): string => join(stateDir, "generations.json");
export const lockPath = (stateDir: string): string => join(stateDir, "lock");

/** Key parts checked as DNS-1123 labels before they become path segments (no `..`, no `/`). */
function safeParts(key: ResourceKey): ReturnType<typeof parseKey> {
  const parts = parseKey(key);
  const problem = checkLabel(parts.namespace) ?? checkLabel(parts.name);
  if (problem !== undefined || key.split("/").length !== 3) {
    throw new Error(
      `refusing a state file for ${JSON.stringify(key)}: namespace and name ${problem ?? "are invalid"}`,
    );
  }
  return parts;
}

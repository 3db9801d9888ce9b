// valueFrom.file: a value read from a file under the operator's --secrets-dir. The path is resolved
// inside that directory only: no absolute path, no `..`, and no symbolic link that leads out of it
// (checked on the real paths). Without `key` the value is the file's content less one trailing
// newline; with `key` the file is a flat YAML or JSON map and the value is that key's.
import { readFile, realpath, stat } from "node:fs/promises";
import { isAbsolute, join, sep } from "node:path";
import { parse } from "yaml";
import { InvalidSpecError } from "../api/errors.ts";
import { SecretInvalidError, SecretNotFoundError } from "./errors.ts";

export interface FileRef {
  readonly path: string;
  readonly key?: string;
}

/** How a reference is named in messages: `file "db/token" key "password"`. */
export function describeFileRef(ref: FileRef): string {
  return `file "${ref.path}"${ref.key === undefined ? "" : ` key "${ref.key}"`}`;
}

export async function readFileRef(secretsDir: string, ref: FileRef, where: string): Promise<string> {
  const named = `${where}: ${describeFileRef(ref)}`;
  if (isAbsolute(ref.path) || ref.path.split(/[\\/]/).includes("..")) {
    throw new InvalidSpecError([], `${named}: must be a relative path inside --secrets-dir without ".."`);
  }
  let root: string;
  try {
    root = await realpath(secretsDir);
  } catch (error) {
    throw new SecretNotFoundError(`${named}: --secrets-dir ${secretsDir} cannot be read`, error);
  }
  let real: string;
  try {
    real = await realpath(join(root, ref.path));
  } catch (error) {
    throw new SecretNotFoundError(`${named}: no such file in --secrets-dir ${secretsDir}`, error);
  }
  if (!real.startsWith(root + sep)) {
    throw new InvalidSpecError([], `${named}: leads outside --secrets-dir ${secretsDir} (symbolic link)`);
  }
  if (!(await stat(real)).isFile()) throw new SecretInvalidError(`${named}: not a regular file`);
  const text = await readFile(real, "utf8");
  if (ref.key === undefined) return text.endsWith("\n") ? text.slice(0, -1) : text;
  return keyOf(text, ref.key, named);
}

/** The key's value in a flat YAML or JSON map. Parse errors are reported without the file's text. */
function keyOf(text: string, key: string, named: string): string {
  let map: unknown;
  try {
    map = parse(text);
  } catch (error) {
    const line = (error as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    throw new SecretInvalidError(`${named}: not valid YAML or JSON${line ? ` (line ${line})` : ""}`);
  }
  if (map === null || typeof map !== "object" || Array.isArray(map)) {
    throw new SecretInvalidError(`${named}: the file is not a map of keys to values`);
  }
  if (!Object.hasOwn(map, key)) throw new SecretNotFoundError(`${named}: no such key in the file`);
  const value = (map as Record<string, unknown>)[key];
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new SecretInvalidError(`${named}: the key's value is not a string, number or boolean`);
}

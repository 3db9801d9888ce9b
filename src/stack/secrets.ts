// The Grafana admin password of a stack: generated on first start, kept in the state directory
// (mode 0600, directories 0700), read again on every reconcile and by the annotation client. It is
// written atomically (a synced temporary file hard-linked into place, which fails if the file
// exists), so a crash leaves no file or the whole password; an empty or whitespace-only file is
// an error naming it, never the password "".
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { link, mkdir, open, readFile, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { OperatorError } from "../api/errors.ts";

export function grafanaPasswordPath(stateDir: string, namespace: string, name: string): string {
  return join(stateDir, "secrets", "mlopsstack", namespace, name, "grafana-admin-password");
}

export class EmptySecretFileError extends OperatorError {
  readonly path: string;
  constructor(path: string) {
    super(
      "EmptySecretFile",
      `${path} is empty (left by an interrupted write?): write the stack's Grafana admin password into it, or delete it to generate a new one (then recreate the stack's Grafana)`,
      { terminal: true },
    );
    this.name = "EmptySecretFileError";
    this.path = path;
  }
}

/** The secret in `path`, trimmed; EmptySecretFile when there is nothing but whitespace. */
export function secretFrom(path: string, text: string): string {
  const secret = text.trim();
  if (secret === "") throw new EmptySecretFileError(path);
  return secret;
}

/** Reads a stack's Grafana admin password (sync, for the annotation client); throws if absent or empty. */
export function readGrafanaPasswordSync(stateDir: string, namespace: string, name: string): string {
  const path = grafanaPasswordPath(stateDir, namespace, name);
  return secretFrom(path, readFileSync(path, "utf8"));
}

/** Reads the stack's Grafana admin password, creating it on first use. */
export async function grafanaAdminPassword(
  stateDir: string,
  namespace: string,
  name: string,
): Promise<string> {
  const path = grafanaPasswordPath(stateDir, namespace, name);
  try {
    return secretFrom(path, await readFile(path, "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const password = randomBytes(24).toString("base64url");
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    const handle = await open(temp, "wx", 0o600);
    try {
      await handle.writeFile(`${password}\n`, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await link(temp, path);
  } catch (error) {
    // Another reconcile wrote it first: theirs wins.
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      return secretFrom(path, await readFile(path, "utf8"));
    }
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
  return password;
}

// The Grafana admin password of a stack: generated on first start, kept in the state directory
// (mode 0600, directories 0700). It is written atomically (a synced temporary file hard-linked into
// place, which fails if the file exists), so a crash leaves no file or the whole password. The stack
// reconciler reads it on every reconcile; the Grafana client of runs on the stack reads it through
// grafanaCredential(), again only when the file changes. An empty or whitespace-only file is an error
// naming it: it is never taken for an empty password.
import { randomBytes } from "node:crypto";
import { link, mkdir, open, readFile, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { OperatorError } from "../api/errors.ts";
import type { StackSecrets } from "./context.ts";

export type SecretReason = "SecretNotFound" | "SecretEmpty";

export class StackSecretError extends OperatorError {
  readonly path: string;

  constructor(reason: SecretReason, path: string, message: string, cause?: unknown) {
    super(reason, message, cause === undefined ? {} : { cause });
    this.name = "StackSecretError";
    this.path = path;
  }
}

/** The stack's secrets in the operator's state directory. */
export function stateDirSecrets(stateDir: string): StackSecrets {
  return { grafanaAdminPassword: (namespace, name) => grafanaAdminPassword(stateDir, namespace, name) };
}

export function grafanaPasswordPath(stateDir: string, namespace: string, name: string): string {
  return join(stateDir, "secrets", "mlopsstack", namespace, name, "grafana-admin-password");
}

/** Reads the stack's Grafana admin password, creating it on first use. */
export async function grafanaAdminPassword(
  stateDir: string,
  namespace: string,
  name: string,
): Promise<string> {
  const path = grafanaPasswordPath(stateDir, namespace, name);
  try {
    return passwordIn(path, await readFile(path, "utf8"));
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
    if ((error as NodeJS.ErrnoException).code === "EEXIST")
      return passwordIn(path, await readFile(path, "utf8"));
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
  return password;
}

export interface GrafanaCredential {
  readonly user: string;
  readonly password: string;
}

/**
 * The admin credential of the stack's Grafana, for clients of it. The file is read on the first
 * call and again only after it changes (inode, size or modification time); it is never created
 * here (the stack reconciler does that). A missing file is SecretNotFound, an empty one SecretEmpty.
 */
export function grafanaCredential(
  stateDir: string,
  namespace: string,
  name: string,
): () => Promise<GrafanaCredential> {
  const path = grafanaPasswordPath(stateDir, namespace, name);
  let cached: { version: string; credential: GrafanaCredential } | undefined;
  return async () => {
    try {
      const s = await stat(path);
      const version = `${s.ino}:${s.size}:${s.mtimeMs}`;
      if (cached?.version === version) return cached.credential;
      const credential = { user: "admin", password: passwordIn(path, await readFile(path, "utf8")) };
      cached = { version, credential };
      return credential;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      throw new StackSecretError(
        "SecretNotFound",
        path,
        `the Grafana admin password of MlopsStack ${namespace}/${name} is not at ${path} (it is written when the stack first starts)`,
        error,
      );
    }
  };
}

function passwordIn(path: string, text: string): string {
  const password = text.trim();
  if (password === "") {
    throw new StackSecretError(
      "SecretEmpty",
      path,
      `the Grafana admin password file ${path} is empty: write the password the stack's Grafana was started with into it`,
    );
  }
  return password;
}

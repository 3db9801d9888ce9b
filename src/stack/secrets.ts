// The Grafana admin password of a stack: generated on first start, kept in the state directory
// (mode 0600, directories 0700), read again on every reconcile and by the annotation client.
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { StackSecrets } from "./context.ts";

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
    return (await readFile(path, "utf8")).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const password = randomBytes(24).toString("base64url");
  try {
    await writeFile(path, `${password}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    // Another reconcile wrote it first: theirs wins.
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return (await readFile(path, "utf8")).trim();
    throw error;
  }
  await chmod(path, 0o600);
  return password;
}

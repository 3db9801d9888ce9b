// The stack's Grafana admin password file: the reconciler's read (created on first use) and the
// credential given to clients of the stack's Grafana (read once, again only after the file changes).
// An empty file is an error naming it, never an empty password.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { grafanaAdminPassword, grafanaCredential, grafanaPasswordPath } from "../../src/stack/secrets.ts";

const reads = vi.hoisted(() => ({ paths: [] as string[] }));
vi.mock("node:fs/promises", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs/promises")>();
  return {
    ...fs,
    readFile: (path: string, ...rest: unknown[]) => {
      reads.paths.push(String(path));
      return (fs.readFile as (...args: unknown[]) => Promise<unknown>)(path, ...rest);
    },
  };
});

function stateWith(content: string | undefined): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), "mlops-secret-"));
  const path = grafanaPasswordPath(dir, "default", "platform");
  if (content !== undefined) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content, { mode: 0o600 });
  }
  return { dir, path };
}

describe("grafanaAdminPassword (the reconciler's read)", () => {
  it.each(["", "\n", "  \n"])("rejects an empty file %j naming it, and leaves it as it is", async (text) => {
    const { dir, path } = stateWith(text);
    await expect(grafanaAdminPassword(dir, "default", "platform")).rejects.toMatchObject({
      reason: "SecretEmpty",
      path,
      message: expect.stringContaining(path),
    });
    expect(readFileSync(path, "utf8")).toBe(text);
  });
});

describe("grafanaCredential (for clients of the stack's Grafana)", () => {
  it("reads the file once while it is unchanged, and again after it changes", async () => {
    const { dir, path } = stateWith("first-password\n");
    const credential = grafanaCredential(dir, "default", "platform");
    reads.paths.length = 0;
    expect(await credential()).toEqual({ user: "admin", password: "first-password" });
    expect(await credential()).toEqual({ user: "admin", password: "first-password" });
    expect(await credential()).toEqual({ user: "admin", password: "first-password" });
    expect(reads.paths.filter((p) => p === path)).toHaveLength(1);
    writeFileSync(path, "second-password-longer\n");
    expect(await credential()).toEqual({ user: "admin", password: "second-password-longer" });
    expect(reads.paths.filter((p) => p === path)).toHaveLength(2);
  });

  it("never creates the file: a missing one is SecretNotFound naming it", async () => {
    const { dir, path } = stateWith(undefined);
    await expect(grafanaCredential(dir, "default", "platform")()).rejects.toMatchObject({
      reason: "SecretNotFound",
      path,
      message: expect.stringContaining(path),
    });
    expect(() => readFileSync(path)).toThrow(/ENOENT/);
  });

  it("an empty file is SecretEmpty naming it, also when it was emptied after a good read", async () => {
    const { dir, path } = stateWith("\n");
    const credential = grafanaCredential(dir, "default", "platform");
    await expect(credential()).rejects.toMatchObject({ reason: "SecretEmpty", path });
    writeFileSync(path, "pw\n");
    expect(await credential()).toEqual({ user: "admin", password: "pw" });
    writeFileSync(path, "");
    await expect(credential()).rejects.toMatchObject({
      reason: "SecretEmpty",
      message: expect.stringContaining(path),
    });
  });
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AnyResource, Notifier } from "../../src/api/resources.ts";
import type { BaseContext } from "../../src/controller/reconcile.ts";
import { NOTIFIER_RETRY_MS, NotifierReconciler } from "../../src/notifier/index.ts";
import { silentLogger } from "../../src/observability/logger.ts";

let secretsDir: string;
let written: unknown[];

function context(dir: string | undefined): BaseContext & { secretsDir?: string } {
  return {
    status: {
      write: async (_r: AnyResource, status: unknown) => {
        written.push(status);
      },
    },
    recorder: { event: () => {} },
    clock: { now: () => new Date("2026-05-01T00:00:00Z") },
    log: silentLogger(),
    resources: { list: () => [], lookup: () => ({ state: "absent" }) },
    ...(dir ? { secretsDir: dir } : {}),
  } as unknown as BaseContext & { secretsDir?: string };
}

const notifier = (addressFile: string): Notifier => ({
  apiVersion: "mlops.dev/v1alpha1",
  kind: "Notifier",
  metadata: { name: "team", namespace: "ml", generation: 3 },
  spec: { type: "webhook", addressFile },
});

beforeEach(() => {
  secretsDir = mkdtempSync(join(tmpdir(), "mlops-notifier-secrets-"));
  written = [];
});
afterEach(() => rmSync(secretsDir, { recursive: true, force: true }));

describe("NotifierReconciler", () => {
  it("is Ready when the address file holds a URL, without showing it", async () => {
    mkdirSync(join(secretsDir, "hooks"));
    writeFileSync(join(secretsDir, "hooks", "team"), "https://hooks.example/T0K3N\n");
    const action = await new NotifierReconciler().reconcile(notifier("hooks/team"), context(secretsDir));
    expect(action).toEqual({ awaitChange: true });
    expect(written[0]).toMatchObject({
      observedGeneration: 3,
      conditions: [{ type: "Ready", status: "True", reason: "Configured", observedGeneration: 3 }],
    });
    expect(JSON.stringify(written)).not.toContain("T0K3N");
  });

  it.each([
    ["a missing file", "hooks/none", undefined, "SecretNotFound"],
    ["a file without a URL", "hooks/team", "not a url", "InvalidAddress"],
  ])("is not Ready with %s, and looks again", async (_name, file, content, reason) => {
    mkdirSync(join(secretsDir, "hooks"));
    if (content) writeFileSync(join(secretsDir, "hooks", "team"), content);
    const action = await new NotifierReconciler().reconcile(notifier(file), context(secretsDir));
    expect(action).toEqual({ requeueAfterMs: NOTIFIER_RETRY_MS });
    expect(written[0]).toMatchObject({ conditions: [{ type: "Ready", status: "False", reason }] });
    expect(JSON.stringify(written)).not.toContain("not a url");
  });

  it("is not Ready without --secrets-dir", async () => {
    await new NotifierReconciler().reconcile(notifier("hooks/team"), context(undefined));
    expect(written[0]).toMatchObject({ conditions: [{ status: "False", reason: "SecretNotFound" }] });
  });
});

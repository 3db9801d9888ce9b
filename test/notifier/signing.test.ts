// Signed notifications: a receiver that knows the key verifies X-Mlops-Signature-256 over
// "<X-Mlops-Timestamp>.<body>" as docs/notifications.md tells it to (its own HMAC, not the operator's
// code), a receiver with another key does not, and a Notifier whose key cannot be read sends nothing.
import { createHmac, timingSafeEqual } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AnyResource, Notifier, NotifierSpec, TrainingJob } from "../../src/api/resources.ts";
import type { BaseContext } from "../../src/controller/reconcile.ts";
import { Notifications, NotifierReconciler, Outbox } from "../../src/notifier/index.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { type Received, type Receiver, startReceiver } from "./receiver.ts";

const KEY = "s3cr3t-signing-key";

let root: string;
let secretsDir: string;
let receiver: Receiver;
let received: Received[];
let url: string;
let logs: string;

/** What a receiver does: HMAC-SHA256 over timestamp "." body, compared in constant time, within 5 minutes. */
function verifies(key: string, request: { headers: IncomingHttpHeaders; raw: Buffer }): boolean {
  const timestamp = String(request.headers["x-mlops-timestamp"] ?? "");
  const signature = String(request.headers["x-mlops-signature-256"] ?? "");
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const expected = `sha256=${createHmac("sha256", key)
    .update(`${timestamp}.${request.raw.toString("utf8")}`)
    .digest("hex")}`;
  return (
    signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected))
  );
}

function notifier(spec: Partial<NotifierSpec>): Notifier {
  return {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "Notifier",
    metadata: { name: "team", namespace: "ml", generation: 2 },
    spec: { type: "webhook", address: url, ...spec } as NotifierSpec,
  };
}

const job: TrainingJob = {
  apiVersion: "mlops.dev/v1alpha1",
  kind: "TrainingJob",
  metadata: { name: "mnist", namespace: "ml", generation: 1 },
  spec: {} as TrainingJob["spec"],
  status: { phase: "Failed", run: { id: "run-1" } } as NonNullable<TrainingJob["status"]>,
};

function notifications(notifiers: Notifier[]) {
  return new Notifications({
    outbox: new Outbox(join(root, "state")),
    notifiers: () => notifiers,
    secretsDir,
    log: pino({ level: "debug" }, { write: (line: string) => (logs += line) }),
    curve: { initialMs: 5, maxMs: 20 },
    maxAttempts: 3,
    timeoutMs: 2000,
  });
}

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), "mlops-notifier-signing-"));
  secretsDir = join(root, "secrets");
  mkdirSync(join(secretsDir, "keys"), { recursive: true });
  logs = "";
  receiver = await startReceiver();
  received = receiver.received;
  url = `${receiver.base}/hook`;
});

afterEach(async () => {
  await receiver.close();
  rmSync(root, { recursive: true, force: true });
});

describe("signed webhooks", () => {
  it("carry a signature the receiver verifies with the key, and another key does not", async () => {
    writeFileSync(join(secretsDir, "keys", "team"), `${KEY}\n`); // one trailing newline is not the key's
    const n = notifications([notifier({ signingKeyFile: "keys/team" })]);
    n.phaseChanged(job, "Running", "Failed");
    await n.idle();
    expect(received).toHaveLength(1);
    const [request] = received;
    if (!request) throw new Error("nothing received");
    expect(request.headers["x-mlops-signature-256"]).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifies(KEY, request)).toBe(true);
    expect(verifies("another-key", request)).toBe(false);
    expect(verifies(`${KEY}\n`, request)).toBe(false);
    // The signature covers the body and the timestamp: changing either fails verification.
    const tampered = Buffer.from(request.body.replace("Failed", "Succeeded"));
    expect(verifies(KEY, { ...request, raw: tampered })).toBe(false);
    const replayed = {
      ...request.headers,
      "x-mlops-timestamp": String(Number(request.headers["x-mlops-timestamp"]) + 1),
    };
    expect(verifies(KEY, { headers: replayed, raw: request.raw })).toBe(false);
    expect(logs).not.toContain(KEY);
  });

  it("are not signed without a key", async () => {
    const n = notifications([notifier({})]);
    n.phaseChanged(job, "Running", "Failed");
    await n.idle();
    expect(received[0]?.headers["x-mlops-signature-256"]).toBeUndefined();
    expect(received[0]?.headers["x-mlops-timestamp"]).toBeUndefined();
  });

  it.each([
    ["a missing key file", undefined, "SecretNotFound"],
    ["an empty key file", "\n", "SecretInvalid"],
  ])(
    "are never sent unsigned: %s sends nothing, and the log names the file",
    async (_name, content, reason) => {
      if (content !== undefined) writeFileSync(join(secretsDir, "keys", "team"), content);
      const n = notifications([notifier({ signingKeyFile: "keys/team" })]);
      n.phaseChanged(job, "Running", "Failed");
      await n.idle();
      expect(received).toHaveLength(0);
      expect(logs).toContain(`${reason}: spec.signingKeyFile`);
      expect(logs).toContain('file \\"keys/team\\"');
      expect(logs).toContain("notification given up");
    },
  );
});

describe("NotifierReconciler with a signing key", () => {
  let written: unknown[];
  const context = () =>
    ({
      status: { write: async (_r: AnyResource, status: unknown) => void written.push(status) },
      recorder: { event: () => {} },
      clock: { now: () => new Date("2026-05-01T00:00:00Z") },
      log: silentLogger(),
      resources: { list: () => [], lookup: () => ({ state: "absent" }) },
      secretsDir,
    }) as unknown as BaseContext;
  beforeEach(() => {
    written = [];
  });

  it("is Ready when the key file can be read, without showing the key", async () => {
    writeFileSync(join(secretsDir, "keys", "team"), KEY);
    await new NotifierReconciler().reconcile(notifier({ signingKeyFile: "keys/team" }), context());
    expect(written[0]).toMatchObject({
      conditions: [
        { type: "Ready", status: "True", reason: "Configured", message: expect.stringContaining("signed") },
      ],
    });
    expect(JSON.stringify(written)).not.toContain(KEY);
  });

  it("is not Ready with an unreadable key file, naming the file", async () => {
    const action = await new NotifierReconciler().reconcile(
      notifier({ signingKeyFile: "keys/none" }),
      context(),
    );
    expect(action).toEqual({ requeueAfterMs: 60_000 });
    expect(written[0]).toMatchObject({
      conditions: [
        {
          type: "Ready",
          status: "False",
          reason: "SecretNotFound",
          message: expect.stringContaining('spec.signingKeyFile: file "keys/none"'),
        },
      ],
    });
  });

  it.each([
    [{ secretRef: { name: "hooks", key: "url" } }, "spec.secretRef", "spec.addressFile"],
    [
      { signingKeySecretRef: { name: "hooks", key: "key" } },
      "spec.signingKeySecretRef",
      "spec.signingKeyFile",
    ],
  ])(
    "in directory mode, %o is InvalidSpec naming the field and what to use",
    async (spec, field, instead) => {
      const n = notifier(spec);
      if ("secretRef" in spec) delete (n.spec as { address?: string }).address;
      const action = await new NotifierReconciler().reconcile(n, context());
      expect(action).toEqual({ awaitChange: true });
      const message = (written[0] as { conditions: { reason: string; message: string }[] }).conditions[0];
      expect(message?.reason).toBe("InvalidSpec");
      expect(message?.message).toContain(field);
      expect(message?.message).toContain(`use ${instead}`);
    },
  );
});

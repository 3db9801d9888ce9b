import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { notifierIssues } from "../../src/api/notifier-rules.ts";
import type { MlopsStack, Notifier, NotifierSpec, TrainingJob } from "../../src/api/resources.ts";
import type { SharedState } from "../../src/api/shared-state.ts";
import { validateDocument } from "../../src/api/validate.ts";
import { Notifications, Outbox, payloadOf, selects } from "../../src/notifier/index.ts";
import { STACK_PHASES } from "../../src/stack/phase.ts";
import { REASONS } from "../../src/trainingjob/model.ts";
import { type Received, type Receiver, startReceiver } from "./receiver.ts";

let root: string;
let stateDir: string;
let receiver: Receiver;
let received: Received[];
let url: string;
let logs: string;

function notifier(spec: Partial<NotifierSpec> = {}, namespace = "ml"): Notifier {
  return {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "Notifier",
    metadata: { name: "team", namespace, generation: 1 },
    spec: { type: "webhook", address: url, ...spec } as NotifierSpec,
  };
}

function job(
  phase: string,
  reason: string,
  namespace = "ml",
  labels: Record<string, string> = {},
): TrainingJob {
  return {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingJob",
    metadata: { name: "mnist", namespace, generation: 1, labels },
    spec: {} as TrainingJob["spec"],
    status: {
      phase: phase as "Failed",
      conditions: [
        {
          type: "Ready",
          status: "False",
          reason,
          message: `it is ${reason}`,
          lastTransitionTime: "2026-01-01T00:00:00Z",
        },
      ],
      run: { id: "run-1" },
    },
  };
}

function notifications(notifiers: Notifier[], extra: { secretsDir?: string } = {}) {
  return new Notifications({
    outbox: new Outbox(stateDir),
    notifiers: () => notifiers,
    log: pino({ level: "debug" }, { write: (line: string) => (logs += line) }),
    curve: { initialMs: 5, maxMs: 20 },
    maxAttempts: 4,
    timeoutMs: 2000,
    now: () => new Date("2026-05-01T12:00:00Z"),
    ...extra,
  });
}

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), "mlops-notifier-test-"));
  stateDir = join(root, "state");
  logs = "";
  receiver = await startReceiver();
  received = receiver.received;
  url = `${receiver.base}/hooks/secret-token-123`;
});

afterEach(async () => {
  await receiver.close();
  rmSync(root, { recursive: true, force: true });
});

describe("selects", () => {
  const change = (resource: TrainingJob, to = "Failed") => ({
    resource,
    from: "Running",
    to,
    time: new Date(),
  });
  it.each<[string, Partial<NotifierSpec>, TrainingJob, string, boolean]>([
    ["its own namespace by default", {}, job("Failed", "OOMKilled"), "Failed", true],
    ["not another namespace by default", {}, job("Failed", "OOMKilled", "other"), "Failed", false],
    [
      "named namespaces",
      { events: { namespaces: ["other"] } },
      job("Failed", "OOMKilled", "other"),
      "Failed",
      true,
    ],
    [
      "every namespace with *",
      { events: { namespaces: ["*"] } },
      job("Failed", "OOMKilled", "x"),
      "Failed",
      true,
    ],
    ["phases filter", { events: { phases: ["Failed"] } }, job("Running", "Running"), "Running", false],
    ["phases match", { events: { phases: ["Failed"] } }, job("Failed", "OOMKilled"), "Failed", true],
    ["phases match Queued", { events: { phases: ["Queued"] } }, job("Queued", "Preempted"), "Queued", true],
    ["reasons filter", { events: { reasons: ["Stalled"] } }, job("Failed", "OOMKilled"), "Failed", false],
    [
      "labels match",
      { events: { labels: { team: "a" } } },
      job("Failed", "E", "ml", { team: "a" }),
      "Failed",
      true,
    ],
    [
      "labels filter",
      { events: { labels: { team: "a" } } },
      job("Failed", "E", "ml", { team: "b" }),
      "Failed",
      false,
    ],
  ])("%s", (_name, spec, resource, to, want) => {
    expect(selects(notifier(spec), change(resource, to))).toBe(want);
  });
});

describe("notifierIssues", () => {
  it.each<[Partial<NotifierSpec>, string[]]>([
    [{ address: "https://hooks.example/x" }, []],
    [{}, ["set exactly one of address, addressFile and secretRef"]],
    [{ address: "https://a", addressFile: "b" }, ["set exactly one of address, addressFile and secretRef"]],
    [
      { addressFile: "b", secretRef: { name: "hooks", key: "url" } },
      ["set exactly one of address, addressFile and secretRef"],
    ],
    [{ secretRef: { name: "hooks", key: "url" } }, []],
    [{ address: "ftp://a" }, ["must be an http:// or https:// URL"]],
    [{ addressFile: "../etc/passwd" }, ['must be a relative path inside --secrets-dir without ".."']],
    [{ address: "https://a", signingKeyFile: "keys/team" }, []],
    [
      { address: "https://a", signingKeyFile: "/etc/key" },
      ['must be a relative path inside --secrets-dir without ".."'],
    ],
    [
      { address: "https://a", signingKeyFile: "k", signingKeySecretRef: { name: "s", key: "k" } },
      ["set at most one of signingKeyFile and signingKeySecretRef"],
    ],
  ])("%o", (spec, messages) => {
    expect(notifierIssues({ type: "webhook", ...spec } as NotifierSpec).map((i) => i.message)).toEqual(
      messages,
    );
  });
});

describe("webhook delivery", () => {
  it("each attempt's transitions are notified: a retried run goes Running → Pending again", async () => {
    const attempt = (n: number, phase: string, reason: string): TrainingJob => {
      const j = job(phase, reason);
      const attempts = Array.from({ length: n }, (_, i) => ({
        attempt: i + 1,
        startTime: "2026-01-01T00:00:00Z",
      }));
      return { ...j, status: { ...j.status, run: { id: "run-1", attempts } } };
    };
    const n = notifier();
    const sent = notifications([n]);
    sent.phaseChanged(attempt(1, "Running", "Running"), "Pending", "Running");
    sent.phaseChanged(attempt(1, "Pending", "RetryBackoff"), "Running", "Pending");
    sent.phaseChanged(attempt(2, "Running", "Running"), "Pending", "Running");
    sent.phaseChanged(attempt(2, "Pending", "RetryBackoff"), "Running", "Pending");
    sent.phaseChanged(attempt(3, "Running", "Running"), "Pending", "Running");
    await sent.idle();
    const bodies = received.map((r) => JSON.parse(r.body) as { id: string; reason: string });
    expect(bodies.map((b) => b.reason)).toEqual([
      "Running",
      "RetryBackoff",
      "Running",
      "RetryBackoff",
      "Running",
    ]);
    expect(new Set(bodies.map((b) => b.id)).size).toBe(5);
    // The first attempt's ids are those of a status without attempts (as earlier versions made them).
    const plain = payloadOf(n, {
      resource: job("Running", "Running"),
      from: "Pending",
      to: "Running",
      time: new Date(),
    });
    expect(bodies[0]?.id).toBe(plain.id);
  });

  it("POSTs one JSON payload per transition, once, also after a restart", async () => {
    const n = notifier();
    const first = notifications([n]);
    first.phaseChanged(job("Failed", "OOMKilled"), "Running", "Failed");
    first.phaseChanged(job("Failed", "OOMKilled"), "Running", "Failed");
    await first.idle();
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.headers["content-length"]).toBe(String(Buffer.byteLength(request?.body ?? "")));
    const payload = JSON.parse(request?.body ?? "{}");
    expect(payload).toEqual({
      apiVersion: "mlops.dev/v1alpha1",
      type: "PhaseChanged",
      id: payloadOf(n, {
        resource: job("Failed", "OOMKilled"),
        from: "Running",
        to: "Failed",
        time: new Date(),
      }).id,
      notifier: { namespace: "ml", name: "team" },
      kind: "TrainingJob",
      namespace: "ml",
      name: "mnist",
      runId: "run-1",
      previousPhase: "Running",
      phase: "Failed",
      reason: "OOMKilled",
      message: "it is OOMKilled",
      time: "2026-05-01T12:00:00.000Z",
    });
    // A restart reads what was sent from the state directory.
    const second = notifications([n]);
    second.resume();
    second.phaseChanged(job("Failed", "OOMKilled"), "Running", "Failed");
    await second.idle();
    expect(received).toHaveLength(1);
    // Another transition is another notification.
    second.phaseChanged(job("Pending", "Submitted"), "Failed", "Pending");
    await second.idle();
    expect(received).toHaveLength(2);
  });

  it("retries 5xx and 429 with backoff, and gives up on other 4xx", async () => {
    receiver.answers.push(503, 429, 200);
    const n = notifications([notifier()]);
    n.phaseChanged(job("Failed", "OOMKilled"), "Running", "Failed");
    await n.idle();
    expect(received).toHaveLength(3);
    receiver.answers.push(400);
    n.phaseChanged(job("Succeeded", "Succeeded"), "Running", "Succeeded");
    await n.idle();
    expect(received).toHaveLength(4);
    expect(logs).toContain("notification rejected by its receiver");
  });

  it("sends one resource's transitions in order, also when the first is retried", async () => {
    receiver.answers.push(503, 503); // the first transition's first two attempts fail
    const n = notifications([notifier()]);
    n.phaseChanged(job("Pending", "Submitted"), undefined, "Pending");
    n.phaseChanged(job("Running", "Running"), "Pending", "Running");
    n.phaseChanged(job("Succeeded", "Succeeded"), "Running", "Succeeded");
    await n.idle();
    const phases = received.map((r) => (JSON.parse(r.body) as { phase: string }).phase);
    expect(phases).toEqual(["Pending", "Pending", "Pending", "Running", "Succeeded"]);
  });

  it("keeps an undelivered notification pending across a restart, and sends it then", async () => {
    const down = `http://127.0.0.1:1/hook`; // nothing listens on port 1
    const n = notifier({ address: down });
    const first = notifications([n]);
    first.phaseChanged(job("Failed", "OOMKilled"), "Running", "Failed");
    await new Promise((r) => setTimeout(r, 10));
    await first.close(0);
    expect(new Outbox(stateDir).pending()).toHaveLength(1);
    const second = notifications([notifier()]);
    second.resume();
    await second.idle();
    expect(received).toHaveLength(1);
    expect(new Outbox(stateDir).pending()).toHaveLength(0);
  });

  it("lets a delivery under way finish when closed", async () => {
    receiver.delayMs = 200;
    const n = notifications([notifier()]);
    n.phaseChanged(job("Succeeded", "Succeeded"), "Running", "Succeeded");
    await new Promise((r) => setTimeout(r, 20));
    await n.close();
    expect(received).toHaveLength(1);
    expect(new Outbox(stateDir).pending()).toEqual([]);
  });

  it("reads the address from a file under --secrets-dir and never logs it", async () => {
    const secretsDir = join(root, "secrets");
    mkdirSync(secretsDir);
    writeFileSync(join(secretsDir, "hook-url"), `${url}\n`);
    receiver.answers.push(500);
    const byFile = notifier({ addressFile: "hook-url" });
    delete (byFile.spec as { address?: string }).address;
    const n = notifications([byFile], { secretsDir });
    n.phaseChanged(job("Failed", "OOMKilled"), "Running", "Failed");
    await n.idle();
    expect(received).toHaveLength(2);
    expect(logs).toContain("notification failed; retrying");
    expect(logs).not.toContain("secret-token-123");
    expect(logs).not.toContain("127.0.0.1");
  });
});

describe("docs/notifications.md", () => {
  it("has a JSON schema every payload meets", async () => {
    const { readFileSync } = await import("node:fs");
    const { Ajv2020 } = await import("ajv/dist/2020.js");
    const text = readFileSync(new URL("../../docs/notifications.md", import.meta.url), "utf8");
    const block = text.split("JSON schema (draft 2020-12):")[1]?.split("```json")[1]?.split("```")[0] ?? "";
    const validate = new Ajv2020({ strict: false }).compile(JSON.parse(block));
    // Every phase a TrainingJob's status holds, as the new phase and as the previous one.
    const transitions: [string | undefined, string][] = [[undefined, "Pending"]];
    for (const phase of Object.keys(REASONS)) transitions.push(["Running", phase], [phase, "Running"]);
    for (const [from, to] of transitions) {
      const payload = payloadOf(notifier(), {
        resource: job("Failed", "OOMKilled"),
        from,
        to,
        time: new Date(),
      });
      expect(validate(JSON.parse(JSON.stringify(payload))), JSON.stringify(validate.errors)).toBe(true);
    }
    const stack = {
      apiVersion: "mlops.dev/v1alpha1",
      kind: "MlopsStack",
      metadata: { name: "platform", namespace: "ml", generation: 1 },
      spec: {},
      status: { conditions: job("Failed", "PortInUse").status?.conditions },
    } as unknown as MlopsStack;
    const stackPayload = payloadOf(notifier(), {
      resource: stack,
      from: "Ready",
      to: "Degraded",
      time: new Date(),
    });
    expect(stackPayload).toMatchObject({
      kind: "MlopsStack",
      runId: null,
      phase: "Degraded",
      reason: "PortInUse",
    });
    expect(validate(JSON.parse(JSON.stringify(stackPayload))), JSON.stringify(validate.errors)).toBe(true);
    expect(
      validate({
        ...payloadOf(notifier(), { resource: job("Failed", "E"), from: "a", to: "b", time: new Date() }),
        extra: 1,
      }),
    ).toBe(false);
  });
});

describe("slack", () => {
  it("posts a readable message with user text escaped", async () => {
    const n = notifications([notifier({ type: "slack" })]);
    const evil = job("Failed", "OOMKilled");
    evil.status?.conditions?.splice(0, 1, {
      type: "Ready",
      status: "False",
      reason: "OOMKilled",
      message: "<!channel> & <https://evil.example|click>",
      lastTransitionTime: "2026-01-01T00:00:00Z",
    });
    n.phaseChanged(evil, "Running", "Failed");
    await n.idle();
    expect(JSON.parse(received[0]?.body ?? "{}")).toEqual({
      text: ":x: TrainingJob *ml/mnist*: Running → *Failed*\nOOMKilled: &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;\nrun run-1",
    });
  });
});

describe("the record of transitions", () => {
  it("writes nothing for a resource no Notifier hears of; keeps every transition of one a filter narrows", async () => {
    const onlyFailed = notifications([notifier({ events: { phases: ["Failed"] } })]);
    onlyFailed.phaseChanged(job("Running", "Started", "other"), "Pending", "Running");
    await onlyFailed.idle();
    expect(existsSync(join(stateDir, "notifications.json"))).toBe(false);
    onlyFailed.phaseChanged(job("Running", "Started"), "Pending", "Running");
    await onlyFailed.idle();
    expect(received).toHaveLength(0);
    const record = JSON.parse(readFileSync(join(stateDir, "notifications.json"), "utf8"));
    expect(record.phases).toEqual({ "TrainingJob/ml/mnist": { run: "run-1", phase: "Running" } });
    // A replica that never saw Running (from undefined) still sends Running → Failed.
    const next = notifications([notifier({ events: { phases: ["Failed"] } })]);
    next.phaseChanged(job("Failed", "OOMKilled"), undefined, "Failed");
    await next.idle();
    expect(received.map((r) => JSON.parse(r.body).previousPhase)).toEqual(["Running"]);
  });
});

describe("a record that cannot be written", () => {
  it("still sends the notification (at least once) and says so", async () => {
    const down: SharedState = {
      description: "Consul KV (down)",
      maxValueBytes: Number.POSITIVE_INFINITY,
      get: async () => undefined,
      put: async () => {
        throw new Error("connection refused");
      },
    };
    const n = new Notifications({
      outbox: new Outbox(down),
      notifiers: () => [notifier()],
      log: pino({ level: "debug" }, { write: (line: string) => (logs += line) }),
      curve: { initialMs: 5, maxMs: 20 },
      maxAttempts: 2,
    });
    n.phaseChanged(job("Failed", "OOMKilled"), "Running", "Failed");
    await n.idle();
    expect(received).toHaveLength(1);
    expect(logs).toContain("notification not recorded; sending it anyway");
  });
});

describe("events.phases", () => {
  it("takes every phase a notification can carry: a TrainingJob's (Queued too) and a MlopsStack's", () => {
    for (const phase of [...Object.keys(REASONS), ...STACK_PHASES]) {
      const document = JSON.parse(
        JSON.stringify(notifier({ address: "http://127.0.0.1:1/", events: { phases: [phase as never] } })),
      );
      expect(validateDocument(document), phase).toMatchObject({ ok: true });
    }
    const typo = JSON.parse(
      JSON.stringify(notifier({ address: "http://127.0.0.1:1/", events: { phases: ["Finished" as never] } })),
    );
    expect(validateDocument(typo)).toMatchObject({ ok: false });
  });
});

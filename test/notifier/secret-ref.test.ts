// spec.secretRef and spec.signingKeySecretRef in Kubernetes mode, over the Kubernetes API double and
// the real client: the Notifier's reconcile reads the Secrets (Ready, or not Ready naming the Secret
// and key), and `mlopsctl run --source kubernetes --once` delivers a TrainingJob's first transition
// to the address held in a Secret, signed with the key held in another, with neither in any output.
import { execFile } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { AnyResource, Notifier, NotifierSpec } from "../../src/api/resources.ts";
import type { BaseContext } from "../../src/controller/reconcile.ts";
import { NotifierReconciler } from "../../src/notifier/index.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { KubernetesSecretReader } from "../../src/sources/kubernetes/index.ts";
import { KubernetesDouble, trainingJob, writeKubeconfig } from "../doubles/kubernetes/index.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { type Received, type Receiver, startReceiver } from "./receiver.ts";

const exec = promisify(execFile);
const CLI = new URL("../../bin/mlopsctl", import.meta.url).pathname;
const KEY = "k8s-signing-KEY-71c0de";
const TOKEN = "hook-TOKEN-55aa01";

let kube: KubernetesDouble;
let receiver: Receiver;
let received: Received[];
let hookUrl: string;
let dir: string;

beforeAll(async () => {
  kube = new KubernetesDouble();
  await kube.start();
  dir = await mkdtemp(join(tmpdir(), "mlops-notifier-secretref-"));
  receiver = await startReceiver();
  received = receiver.received;
  hookUrl = `${receiver.base}/hooks/${TOKEN}`;
  kube.secrets.put("ml", "team-hook", { url: `${hookUrl}\n`, signing: KEY });
});

afterAll(async () => {
  await receiver.close();
  await kube.close();
  await rm(dir, { recursive: true, force: true });
});

const notifier = (spec: Partial<NotifierSpec>): Notifier => ({
  apiVersion: "mlops.dev/v1alpha1",
  kind: "Notifier",
  metadata: { name: "team", namespace: "ml", generation: 1 },
  spec: { type: "webhook", ...spec } as NotifierSpec,
});

describe("NotifierReconciler reading Secrets", () => {
  let written: { conditions: { status: string; reason: string; message: string }[] }[];
  const context = () => {
    const reader = new KubernetesSecretReader(kube.kubeConfig());
    return {
      status: { write: async (_r: AnyResource, status: never) => void written.push(status) },
      recorder: { event: () => {} },
      clock: { now: () => new Date("2026-05-01T00:00:00Z") },
      log: silentLogger(),
      resources: { list: () => [], lookup: () => ({ state: "absent" }) },
      kubernetes: (namespace: string, name: string) => reader.get(namespace, name),
    } as unknown as BaseContext;
  };
  beforeEach(() => {
    written = [];
  });

  it("is Ready when both Secrets' keys can be read, showing neither", async () => {
    const action = await new NotifierReconciler().reconcile(
      notifier({
        secretRef: { name: "team-hook", key: "url" },
        signingKeySecretRef: { name: "team-hook", key: "signing" },
      }),
      context(),
    );
    expect(action).toEqual({ awaitChange: true });
    expect(written[0]?.conditions[0]).toMatchObject({ status: "True", reason: "Configured" });
    expect(kube.requests.some((r) => r.path === "/api/v1/namespaces/ml/secrets/team-hook")).toBe(true);
    expect(JSON.stringify(written)).not.toContain(KEY);
    expect(JSON.stringify(written)).not.toContain(TOKEN);
  });

  it.each([
    [
      { secretRef: { name: "gone", key: "url" } },
      'spec.secretRef: Secret "gone" key "url" in namespace ml: no such Secret',
    ],
    [
      { secretRef: { name: "team-hook", key: "nope" } },
      'spec.secretRef: Secret "team-hook" key "nope" in namespace ml: no such key in the Secret',
    ],
    [
      { address: "https://hooks.example/x", signingKeySecretRef: { name: "gone", key: "k" } },
      'spec.signingKeySecretRef: Secret "gone" key "k" in namespace ml: no such Secret',
    ],
  ])("is not Ready (SecretNotFound) with %o", async (spec, message) => {
    await new NotifierReconciler().reconcile(notifier(spec), context());
    expect(written[0]?.conditions[0]).toEqual(
      expect.objectContaining({ status: "False", reason: "SecretNotFound", message }),
    );
  });

  it("is not Ready (InvalidAddress) when the Secret's key holds no URL, without showing it", async () => {
    kube.secrets.put("ml", "not-a-url", { url: "hunter2" });
    await new NotifierReconciler().reconcile(
      notifier({ secretRef: { name: "not-a-url", key: "url" } }),
      context(),
    );
    expect(written[0]?.conditions[0]).toMatchObject({ status: "False", reason: "InvalidAddress" });
    expect(JSON.stringify(written)).not.toContain("hunter2");
  });
});

describe("mlopsctl run --source kubernetes with a Notifier whose address and key are Secrets", () => {
  let nomad: NomadDouble;
  beforeAll(async () => {
    nomad = await startNomadDouble({ namespaces: ["ml"] });
  });
  afterAll(async () => {
    await nomad?.close();
  });

  it("sends the job's transition to the Secret's address, signed with the Secret's key", async () => {
    kube.create({
      ...notifier({
        secretRef: { name: "team-hook", key: "url" },
        signingKeySecretRef: { name: "team-hook", key: "signing" },
      }),
    } as never);
    kube.create(trainingJob("bert", "ml"));
    writeKubeconfig(join(dir, "kubeconfig"), kube.url);
    const args = ["run", "--source", "kubernetes", "--kubeconfig", join(dir, "kubeconfig"), "--once"];
    args.push("--state-dir", join(dir, "state"), "--scheduler", "nomad", "--nomad-addr", nomad.address);
    args.push("--owner-id", "notifier-secretref", "--log-format", "json");
    const env = { ...process.env, XDG_STATE_HOME: dir, MLOPSCTL_CONTEXT: "" };
    const { stdout, stderr } = await exec(CLI, args, { timeout: 60_000, env });

    const status = kube.state.get("notifiers", "ml", "team").status as { conditions?: { reason: string }[] };
    expect(status.conditions?.[0]?.reason).toBe("Configured");
    const sent = received.filter((r) => r.path === `/hooks/${TOKEN}`);
    expect(sent.map((r) => JSON.parse(r.body))).toEqual([
      expect.objectContaining({ kind: "TrainingJob", namespace: "ml", name: "bert", phase: "Pending" }),
    ]);
    const [request] = sent;
    const timestamp = String(request?.headers["x-mlops-timestamp"]);
    const mac = createHmac("sha256", KEY).update(`${timestamp}.${request?.body}`).digest("hex");
    expect(request?.headers["x-mlops-signature-256"]).toBe(`sha256=${mac}`);
    for (const text of [stdout, stderr, JSON.stringify(kube.state.get("notifiers", "ml", "team"))]) {
      expect(text).not.toContain(KEY);
      expect(text).not.toContain(TOKEN);
    }
  }, 90_000);
});

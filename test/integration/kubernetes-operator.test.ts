// `mlopsctl run --source kubernetes` as users run it (bin/mlopsctl): TrainingJobs applied to the
// cluster (the Kubernetes API double, driven by the real @kubernetes/client-node) become Nomad jobs
// (the Nomad double), their status lands on the /status subresource, and what happened becomes
// core/v1 Events on them (what kubectl describe lists).
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubernetesDouble, trainingJob, writeKubeconfig } from "../doubles/kubernetes/index.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";

const exec = promisify(execFile);
const CLI = new URL("../../bin/mlopsctl", import.meta.url).pathname;
let kube: KubernetesDouble;
let nomad: NomadDouble;
let dir = "";

beforeAll(async () => {
  kube = new KubernetesDouble();
  await kube.start();
  nomad = await startNomadDouble({ namespaces: ["ml"] });
  dir = await mkdtemp(join(tmpdir(), "mlops-kube-"));
});

afterAll(async () => {
  await kube?.close();
  await nomad?.close();
  await rm(dir, { recursive: true, force: true });
});

async function runOnce(): Promise<{ code: number; stderr: string }> {
  const args = ["run", "--source", "kubernetes", "--kubeconfig", join(dir, "kubeconfig"), "--once"];
  args.push("--state-dir", join(dir, "state"), "--scheduler", "nomad", "--nomad-addr", nomad.address);
  args.push("--owner-id", "kube-it", "--metrics-addr", "127.0.0.1:0", "--log-level", "error");
  try {
    const { stderr } = await exec(CLI, args, { timeout: 60_000 });
    return { code: 0, stderr };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

describe("run --source kubernetes", () => {
  it("converges custom resources onto Nomad and writes their status to the cluster", async () => {
    writeKubeconfig(join(dir, "kubeconfig"), kube.url);
    kube.create(trainingJob("bert", "ml"));
    kube.create(trainingJob("broken", "ml", { replica: 3 }));

    const result = await runOnce();
    expect(result.code).toBe(0);
    const job = (await (await fetch(`${nomad.address}/v1/job/bert?namespace=ml`)).json()) as {
      Meta: unknown;
    };
    expect(job.Meta).toMatchObject({ mlops_owner_id: "kube-it" });

    const bert = kube.state.get("trainingjobs", "ml", "bert") as {
      status?: { phase?: string };
      metadata: { finalizers?: string[] };
    };
    expect(bert.status?.phase).toBe("Pending");
    expect(bert.metadata.finalizers).toContain("mlops.dev/cleanup");
    const broken = kube.state.get("trainingjobs", "ml", "broken") as {
      status?: { conditions?: { type: string; reason: string; message: string }[] };
    };
    expect(broken.status?.conditions?.[0]).toMatchObject({ type: "Ready", reason: "InvalidSpec" });
    expect(broken.status?.conditions?.[0]?.message).toContain("spec.replica");

    const bertUid = kube.state.get("trainingjobs", "ml", "bert").metadata.uid;
    const bertEvents = kube.events.list("ml").filter((e) => e.involvedObject.name === "bert");
    expect(bertEvents.length).toBeGreaterThanOrEqual(2);
    for (const e of bertEvents) {
      expect(e.involvedObject).toMatchObject({ kind: "TrainingJob", namespace: "ml", uid: bertUid });
      expect(e).toMatchObject({ type: "Normal", count: 1, source: { component: "mlops-operator" } });
    }
    expect(bertEvents.map((e) => e.message).join("\n")).toMatch(/run \S+ attempt 1 on nomad/);

    // Converged: a second run writes nothing, to the cluster or to Nomad. (The allocation Nomad
    // placed for bert's register did not wake it, and the status does not list a replica only
    // placed: what the first run wrote is what the second finds.)
    const nomadWrites = nomad.writes;
    for (let run = 2; run <= 3; run++) {
      const statusWrites = kube.count("PATCH", /\/status$/);
      expect((await runOnce()).code).toBe(0);
      expect(kube.count("PATCH", /\/status$/)).toBe(statusWrites);
    }
    expect(nomad.writes).toBe(nomadWrites);
  });
});

// `mlopsctl run --source kubernetes` (bin/mlopsctl) after the default owner id moved from the server
// URL to the cluster's kube-system UID: the Nomad job an earlier version registered under the
// server-URL id is adopted (no second job, no NotOwned, nothing deleted), and the adoption shows as a
// Kubernetes Event (reason Adopted) on the TrainingJob, where `kubectl describe` lists it.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ownerIdFor } from "../../src/sources/kubernetes/index.ts";
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
  dir = await mkdtemp(join(tmpdir(), "mlops-kube-adopt-"));
  writeKubeconfig(join(dir, "kubeconfig"), kube.url);
});

afterAll(async () => {
  await kube?.close();
  await nomad?.close();
  await rm(dir, { recursive: true, force: true });
});

async function runOnce(ownerId?: string): Promise<number> {
  const args = ["run", "--source", "kubernetes", "--kubeconfig", join(dir, "kubeconfig"), "--once"];
  args.push("--state-dir", join(dir, "state"), "--scheduler", "nomad", "--nomad-addr", nomad.address);
  args.push("--metrics-addr", "127.0.0.1:0", "--log-level", "error");
  if (ownerId) args.push("--owner-id", ownerId);
  try {
    await exec(CLI, args, { timeout: 60_000 });
    return 0;
  } catch (error) {
    return (error as { code: number }).code;
  }
}

const nomadJob = async (id: string) =>
  (await (await fetch(`${nomad.address}/v1/job/${id}?namespace=ml`)).json()) as {
    Meta: Record<string, string>;
    JobModifyIndex: number;
  };

describe("run --source kubernetes after the default owner id changed", () => {
  it("adopts the job of the server-URL id and records an Adopted Event on the TrainingJob", async () => {
    kube.create(trainingJob("bert", "ml"));
    const previous = ownerIdFor(kube.url); // the default of earlier versions
    expect(await runOnce(previous)).toBe(0);
    const before = await nomadJob("bert");
    expect(before.Meta.mlops_owner_id).toBe(previous);

    expect(await runOnce()).toBe(0); // today's default: kube-system's UID
    const after = await nomadJob("bert");
    expect(after.JobModifyIndex).toBe(before.JobModifyIndex); // the same run, untouched
    const listed = (await (await fetch(`${nomad.address}/v1/jobs?namespace=*`)).json()) as { ID: string }[];
    expect(listed.map((j) => j.ID)).toEqual(["bert"]);
    const bert = kube.state.get("trainingjobs", "ml", "bert") as {
      metadata: { uid: string };
      status?: { conditions?: { type: string; reason: string }[] };
    };
    expect(bert.status?.conditions?.find((c) => c.type === "Ready")?.reason).not.toBe("NotOwned");
    const adopted = kube.events.list("ml").filter((e) => e.reason === "Adopted");
    expect(adopted).toHaveLength(1);
    expect(adopted[0]).toMatchObject({
      type: "Normal",
      involvedObject: { kind: "TrainingJob", name: "bert", uid: bert.metadata.uid },
    });
    const today = ownerIdFor(`kube-system-uid:${kube.namespaces.uid("kube-system")}`);
    expect(adopted[0]?.message).toContain(`previous default owner id ${previous}`);
    expect(adopted[0]?.message).toContain(today);
  });
});

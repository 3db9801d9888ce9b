// The leak test in Kubernetes mode, through `mlopsctl run --source kubernetes --once` at trace: a
// TrainingJob whose env references a Secret (secretKeyRef) runs on the Nomad double (ACLs on). The
// Secret's value must reach the Nomad Variable `nomad/jobs/<id>` and nowhere else: not the operator's
// output, the resource's status (every write to the API double), the state directory, the Nomad
// job or any request body Nomad received; the Kubernetes and Nomad tokens likewise.
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubernetesDouble, trainingJob, writeKubeconfig } from "../doubles/kubernetes/index.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";

const exec = promisify(execFile);
const CLI = new URL("../../bin/mlopsctl", import.meta.url).pathname;
const KUBE_TOKEN = "kube-tok-KLEAK-5d02aa";
const NOMAD_TOKEN = "nomad-tok-KLEAK-c13f70";
const SECRET = "tracking-KSECRET-8e4b19";
let kube: KubernetesDouble;
let nomad: NomadDouble;
let dir = "";

beforeAll(async () => {
  kube = new KubernetesDouble({ token: KUBE_TOKEN });
  await kube.start();
  nomad = await startNomadDouble({ namespaces: ["ml"], tokens: [NOMAD_TOKEN] });
  dir = await mkdtemp(join(tmpdir(), "mlops-leak-kube-"));
});

afterAll(async () => {
  await kube?.close();
  await nomad?.close();
  await rm(dir, { recursive: true, force: true });
});

async function files(path: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    out.push(...(entry.isDirectory() ? await files(full) : [full]));
  }
  return out;
}

describe("no token and no Secret leaves its intended destination (Kubernetes mode)", () => {
  it("the Secret's value is in the Nomad Variable only", async () => {
    writeKubeconfig(join(dir, "kubeconfig"), kube.url, { token: KUBE_TOKEN });
    kube.secrets.put("ml", "tracking", { apiKey: SECRET });
    kube.create(
      trainingJob("bert", "ml", {
        env: [{ name: "TRACKING_KEY", valueFrom: { secretKeyRef: { name: "tracking", key: "apiKey" } } }],
      }),
    );
    const args = ["run", "--source", "kubernetes", "--kubeconfig", join(dir, "kubeconfig"), "--once"];
    args.push("--state-dir", join(dir, "state"), "--scheduler", "nomad", "--nomad-addr", nomad.address);
    args.push("--owner-id", "kube-leak", "--log-level", "trace", "--log-format", "json");
    const env = { ...process.env, NOMAD_TOKEN, XDG_STATE_HOME: dir, MLOPSCTL_CONTEXT: "" };
    const { stdout, stderr } = await exec(CLI, args, { timeout: 60_000, env });

    expect(nomad.state.variables.get("ml", "nomad/jobs/bert")?.Items).toEqual({ TRACKING_KEY: SECRET });
    expect(kube.requests.some((r) => r.path === "/api/v1/namespaces/ml/secrets/tracking")).toBe(true);
    const outputs: Record<string, string> = {
      "run output (logs at trace)": `${stdout}\n${stderr}`,
      "the resource on the API double": JSON.stringify(kube.state.get("trainingjobs", "ml", "bert")),
      "writes to the API double": JSON.stringify(kube.requests.filter((r) => r.method !== "GET")),
      "the Nomad job": JSON.stringify(nomad.state.job("ml", "bert")),
      "Nomad request bodies": JSON.stringify(
        nomad.requests.filter((r) => r.route !== "/v1/var/:path").map((r) => [r.path, r.query, r.body]),
      ),
    };
    expect(outputs["the resource on the API double"]).toContain('"phase":"Pending"');
    for (const file of await files(join(dir, "state")))
      outputs[`state file ${file}`] = await readFile(file, "utf8");
    const leaks: string[] = [];
    for (const [where, text] of Object.entries(outputs)) {
      for (const [what, value] of Object.entries({ KUBE_TOKEN, NOMAD_TOKEN, SECRET })) {
        if (text.includes(value)) leaks.push(`${what} in ${where}`);
      }
    }
    expect(leaks).toEqual([]);
  }, 90_000);
});

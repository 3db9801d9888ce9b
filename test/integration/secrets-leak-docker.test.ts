// The leak test on the real Docker engine, through `mlopsctl run` as users run it (a child process,
// logs at trace): a TrainingJob with two file references, a plain value, and a distinctive value for
// every token in the environment. The referenced values must be in the container's environment (the
// Docker scheduler's documented destination) and nowhere else: not in the operator's output, the
// state directory, the container's labels, `get -o json|yaml|wide`, `describe` or `plan`.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const exec = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;
const CLI = join(ROOT, "bin/mlopsctl");
const docker = new Docker();
const owner = `it-leak-docker-${process.pid}`;
const TOKENS = {
  NOMAD_TOKEN: "nomad-tok-DLEAK-61f0c2",
  CONSUL_HTTP_TOKEN: "consul-tok-DLEAK-0b93de",
  GRAFANA_TOKEN: "grafana-tok-DLEAK-7aa214",
  GRAFANA_PASSWORD: "grafana-pw-DLEAK-e5c871",
};
const SECRETS = { DATASET_TOKEN: "dataset-DSECRET-4c1d9a", TRACKING_KEY: "tracking-DSECRET-93be07" };
const PLAIN = "plain-DVALUE-2f7e61";
let root = "";
let dir = "";
let stateDir = "";
let secretsDir = "";

const JOB = `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: { name: leaky-docker }
spec:
  image: mlops-operator/trainer:dev
  env:
    - { name: EPOCHS, value: "1" }
    - { name: EPOCH_SECONDS, value: "0.1" }
    - { name: NOTE, value: "${PLAIN}" }
    - name: DATASET_TOKEN
      valueFrom: { file: { path: dataset-token } }
    - name: TRACKING_KEY
      valueFrom: { file: { path: tracking.json, key: apiKey } }
`;

async function cli(...args: string[]): Promise<string> {
  const env = {
    ...process.env,
    ...TOKENS,
    GRAFANA_USER: "admin",
    MLOPSCTL_CONTEXT: "",
    XDG_STATE_HOME: root,
  };
  try {
    const { stdout, stderr } = await exec(CLI, args, { timeout: 90_000, env });
    return `${stdout}\n${stderr}`;
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return `exit ${e.code}\n${e.stdout}\n${e.stderr}`;
  }
}

async function containers(): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`mlops.dev/owner-id=${owner}`] } });
}

async function files(path: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    out.push(...(entry.isDirectory() ? await files(full) : [full]));
  }
  return out;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "mlops-leak-docker-"));
  dir = join(root, "jobs");
  stateDir = join(root, "state");
  secretsDir = join(root, "secrets");
  await mkdir(dir);
  await mkdir(secretsDir);
  await writeFile(join(secretsDir, "dataset-token"), `${SECRETS.DATASET_TOKEN}\n`);
  await writeFile(join(secretsDir, "tracking.json"), JSON.stringify({ apiKey: SECRETS.TRACKING_KEY }));
  await writeFile(join(dir, "leaky.yaml"), JOB);
});

afterAll(async () => {
  for (const c of await containers()) await docker.getContainer(c.Id).remove({ force: true });
  await rm(root, { recursive: true, force: true });
});

describe("no token and no secret leaves its intended destination (Docker)", () => {
  it("the values are in the container's environment only", async () => {
    const common = ["--dir", dir, "--state-dir", stateDir, "--owner-id", owner];
    const outputs: Record<string, string> = {};
    outputs["run --once (logs at trace)"] = await cli(
      "run",
      ...common,
      "--once",
      "--scheduler",
      "docker",
      "--secrets-dir",
      secretsDir,
      "--log-level",
      "trace",
      "--log-format",
      "json",
    );
    expect(outputs["run --once (logs at trace)"]).toContain('"level":20'); // trace is on: debug lines show
    const [container] = await containers();
    expect(container).toBeDefined();
    const inspect = await docker.getContainer(container?.Id ?? "").inspect();
    expect(inspect.Config.Env).toEqual(
      expect.arrayContaining([
        `DATASET_TOKEN=${SECRETS.DATASET_TOKEN}`,
        `TRACKING_KEY=${SECRETS.TRACKING_KEY}`,
      ]),
    );
    outputs["container labels"] = JSON.stringify(inspect.Config.Labels);
    outputs["container name and command"] = JSON.stringify([
      inspect.Name,
      inspect.Config.Cmd,
      inspect.Config.Entrypoint,
    ]);
    for (const output of ["json", "yaml", "wide"]) {
      outputs[`get -o ${output}`] = await cli(
        "get",
        "tj",
        "leaky-docker",
        "--state-dir",
        stateDir,
        "-o",
        output,
      );
    }
    outputs.describe = await cli("describe", "tj", "leaky-docker", "--state-dir", stateDir);
    expect(outputs.describe).toContain("DATASET_TOKEN");
    await writeFile(join(dir, "leaky.yaml"), JOB.replace(PLAIN, `${PLAIN}-2`));
    outputs.plan = await cli("plan", ...common, "--scheduler", "docker", "--secrets-dir", secretsDir);
    expect(outputs.plan).toContain("valueHash");
    for (const file of await files(stateDir)) outputs[`state file ${file}`] = await readFile(file, "utf8");

    const forbidden: Record<string, string> = { ...TOKENS, ...SECRETS, "plain env value": PLAIN };
    const leaks: string[] = [];
    for (const [where, text] of Object.entries(outputs)) {
      for (const [what, value] of Object.entries(forbidden))
        if (text.includes(value)) leaks.push(`${what} in ${where}`);
    }
    expect(leaks).toEqual([]);
  }, 120_000);
});

// Outages, with `mlopsctl run` (bin/mlopsctl, watching, --resync 2s) as a child process: Nomad
// refusing connections, answering 500, hanging past every timeout, its event stream stalled;
// Consul and Grafana refusing; the Docker engine through a DOCKER_HOST proxy that refuses (never
// the shared engine itself); 1 % of Nomad calls failing at random during a convergence. Throughout,
// /healthz and /metrics answer within a second, /readyz says what is down (503 for a scheduler,
// `degraded:` for Consul and Grafana), no recorded phase flips, nothing is deleted, the log stays
// under 20 lines a second; after recovery everything converges (an edit made during the outage
// lands, an annotation missed is posted once, a job purged behind a stalled stream comes back).
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { faultProxy } from "../safety/fault-proxy.ts";
import { type OperatorProcess, startOperator } from "../safety/operator-process.ts";
import { outageSuite } from "../safety/outages.ts";
import { phases, watch } from "../safety/watch.ts";

const exec = promisify(execFile);
let root = "";

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "mlops-outage-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const doc = (
  name: string,
  priority = 50,
  image = "registry.example/train:1",
) => `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: { name: ${name} }
spec:
  image: ${image}
  priority: ${priority}
`;

async function until<T>(
  what: string,
  fn: () => T | undefined | Promise<T | undefined>,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function metricsBase(op: OperatorProcess): Promise<string> {
  const line = await op.line(/"operator starting"/, 60_000);
  const address = line && /"metrics":"([^"]+)"/.exec(line)?.[1];
  if (!address) throw new Error(`operator did not start: ${op.lines.slice(-5).join(" | ")}`);
  return `http://${address}`;
}

async function readyz(base: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${base}/readyz`);
  return { status: res.status, body: await res.text() };
}

describe("outages of Nomad, Consul and Grafana", () => {
  let nomad: NomadDouble;
  beforeAll(async () => {
    nomad = await startNomadDouble({ heartbeatMs: 500 });
  });
  afterAll(async () => {
    await nomad?.close();
  });

  it("keeps answering, says what is down, never flips a phase or deletes, and converges after each", async () => {
    const result = await outageSuite(join(root, "suite"), { short: 4_000, hang: 10_000 });
    expect(result.figures.map((f) => f.name)).toHaveLength(6);
    for (const f of result.figures) {
      expect(f.samples, f.name).toBeGreaterThan(3);
      expect(f.healthFailures, `${f.name}: /healthz or /metrics failed`).toBe(0);
      expect(f.slowProbes, `${f.name}: probes over a second`).toBe(0);
      expect(f.readyzSaid, `${f.name}: /readyz said ${JSON.stringify(f.lastReadyz)}`).toBe(true);
      expect(f.flips, `${f.name}: phases`).toEqual([]);
      expect(f.jobsLost, `${f.name}: jobs deleted`).toBe(0);
      expect(f.logLinesPerSecond, `${f.name}: log lines per second`).toBeLessThan(20);
      expect(f.recoveredMs, `${f.name}: ready and converged again within 60 s`).toBeDefined();
    }
    // One annotation per run: the one missed while Grafana was down was posted once, none doubled.
    expect(result.annotationsPerRun.every((n) => n === 1)).toBe(true);
    expect(result.jobs).toBe(21);
    expect(result.exit).toBe(0);
  }, 150_000);

  it("1 % of Nomad calls failing at random during a convergence of 300 jobs: all converge", async () => {
    const proxy = await faultProxy({ url: nomad.address });
    proxy.setFailRate(0.01, Number(process.env.MLOPS_OUTAGE_SEED ?? 7));
    const dir = join(root, "flaky");
    const stateDir = join(root, "flaky-state");
    await mkdir(dir, { recursive: true });
    const names = Array.from({ length: 300 }, (_, i) => `flaky-${i}`);
    for (const name of names) await writeFile(join(dir, `${name}.yaml`), doc(name));
    const op = startOperator({
      dir,
      stateDir,
      nomadAddr: proxy.url,
      ownerId: "flaky-suite",
      env: { DOCKER_HOST: `unix://${join(root, "no-docker.sock")}` },
    });
    try {
      await metricsBase(op);
      // Converged: every job registered, its status recording the run Nomad holds.
      const runOf = async (name: string) => {
        try {
          const text = await readFile(join(stateDir, "status/trainingjob/default", `${name}.json`), "utf8");
          return (JSON.parse(text) as { status?: { run?: { id?: string } } }).status?.run?.id;
        } catch {
          return undefined;
        }
      };
      await until(
        "300 jobs registered and recorded",
        async () => {
          for (const name of names) {
            const id = nomad.state.job("default", name)?.Meta?.mlops_run_id;
            if (!id || (await runOf(name)) !== id) return false;
          }
          return true;
        },
        45_000,
      );
      expect(proxy.failed).toBeGreaterThan(0);
    } finally {
      await op.stop();
      await proxy.close();
    }
  }, 90_000);
});

describe("the Docker engine gone, through a DOCKER_HOST proxy", () => {
  const owner = `outage-docker-${process.pid}`;
  afterAll(async () => {
    const { stdout } = await exec("docker", ["ps", "-aq", "--filter", `label=mlops.dev/owner-id=${owner}`]);
    const ids = stdout.split("\n").filter(Boolean);
    if (ids.length > 0) await exec("docker", ["rm", "-f", ...ids]);
  });

  it("keeps answering, /readyz names Docker, the running container and its phase stay; ready again after", async () => {
    const proxy = await faultProxy({ socketPath: "/var/run/docker.sock" });
    const dir = join(root, "docker-jobs");
    const stateDir = join(root, "docker-state");
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, "long.yaml"),
      `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: { name: long }
spec:
  image: mlops-operator/trainer:dev
  env:
    - { name: EPOCHS, value: "600" }
    - { name: EPOCH_SECONDS, value: "0.2" }
`,
    );
    const op = startOperator({
      dir,
      stateDir,
      scheduler: "docker",
      ownerId: owner,
      env: { DOCKER_HOST: `tcp://127.0.0.1:${proxy.port}` },
      extra: ["--resync", "2s"],
    });
    const containers = async () =>
      (await exec("docker", ["ps", "-q", "--filter", `label=mlops.dev/owner-id=${owner}`])).stdout
        .split("\n")
        .filter(Boolean);
    try {
      const base = await metricsBase(op);
      await until("Running", () => phases(stateDir).get("long") === "Running", 30_000);
      const before = await containers();
      expect(before).toHaveLength(1);
      const w = watch(base, stateDir);
      await proxy.setMode("refuse");
      await new Promise((r) => setTimeout(r, 6_000));
      const { samples, flips } = await w.stop();
      await proxy.setMode("none");
      expect(samples.filter((s) => s.healthz !== 200 || s.metrics !== 200)).toEqual([]);
      expect(
        samples.some(
          (s) =>
            s.readyz === 503 &&
            /not ready: docker tcp:\/\/127\.0\.0\.1:\d+: DockerUnavailable/.test(s.readyzBody),
        ),
      ).toBe(true);
      expect(flips).toEqual([]);
      expect(await containers()).toEqual(before);
      await until("ready again", async () => (await readyz(base)).status === 200).catch(async (error) => {
        throw new Error(`${error.message}: ${(await readyz(base)).body} ${op.lines.slice(-8).join("\n")}`);
      });
      await until("Ready True again", async () => {
        const record = JSON.parse(
          await readFile(join(stateDir, "status/trainingjob/default/long.json"), "utf8"),
        );
        return record.status.conditions.find((c: { type: string }) => c.type === "Ready")?.status === "True";
      });
    } finally {
      await op.stop();
      await proxy.close();
    }
  }, 90_000);
});

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
import { type ConsulDouble, startConsulDouble } from "../doubles/consul/index.ts";
import { type GrafanaDouble, startGrafanaDouble } from "../doubles/grafana/index.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { faultProxy } from "../safety/fault-proxy.ts";
import { type OperatorProcess, startOperator } from "../safety/operator-process.ts";
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

interface OutageCase {
  readonly name: string;
  readonly start: () => Promise<void> | void;
  readonly end: () => Promise<void> | void;
  readonly ms: number;
  /** What /readyz must say at some point during the outage. */
  readonly readyz: { status: number; body: RegExp };
  /** Something to change while it is down (it must land after recovery). */
  readonly during?: () => Promise<void>;
  readonly recovered?: () => boolean | Promise<boolean>;
  /** Resources whose phase may change (a job purged by hand is submitted again: Pending). */
  readonly mayFlip?: readonly string[];
}

/** Runs one outage and asserts what holds during and after it. */
async function survive(
  op: OperatorProcess,
  base: string,
  stateDir: string,
  c: OutageCase,
  count: () => number,
) {
  const jobsBefore = count();
  const linesBefore = op.lines.length;
  const w = watch(base, stateDir);
  await c.start();
  await c.during?.();
  await new Promise((r) => setTimeout(r, c.ms));
  const { samples, flips } = await w.stop();
  const logLines = op.lines.length - linesBefore;
  await c.end();
  expect(samples.length, c.name).toBeGreaterThan(3);
  expect(
    samples.filter((s) => s.healthz !== 200 || s.metrics !== 200),
    `${c.name}: healthz/metrics`,
  ).toEqual([]);
  expect(samples.filter((s) => s.slow > 0).length, `${c.name}: slow probes`).toBe(0);
  expect(
    samples.some((s) => s.readyz === c.readyz.status && c.readyz.body.test(s.readyzBody)),
    `${c.name}: /readyz said ${JSON.stringify(samples.at(-1)?.readyzBody)}`,
  ).toBe(true);
  expect(
    flips.filter((f) => !c.mayFlip?.some((name) => f.startsWith(`${name}:`))),
    `${c.name}: phases`,
  ).toEqual([]);
  expect(count(), `${c.name}: jobs deleted`).toBeGreaterThanOrEqual(jobsBefore);
  expect(logLines / (c.ms / 1000), `${c.name}: log lines per second`).toBeLessThan(20);
  await until(`${c.name}: ready again`, async () => {
    const r = await readyz(base);
    return r.status === 200 && !r.body.includes("degraded") ? r : undefined;
  });
  if (c.recovered) await until(`${c.name}: converged after recovery`, c.recovered);
  return { samples: samples.length, logLines };
}

describe("outages of Nomad, Consul and Grafana", () => {
  let nomad: NomadDouble;
  let consul: ConsulDouble;
  let grafana: GrafanaDouble;
  beforeAll(async () => {
    consul = await startConsulDouble();
    nomad = await startNomadDouble({ heartbeatMs: 500 });
    grafana = await startGrafanaDouble();
  });
  afterAll(async () => {
    await nomad?.close();
    await consul?.close();
    await grafana?.close();
  });

  it("keeps answering, says what is down, never flips a phase or deletes, and converges after each", async () => {
    const dir = join(root, "jobs");
    const stateDir = join(root, "state");
    await mkdir(dir, { recursive: true });
    const names = Array.from({ length: 20 }, (_, i) => `run-${i}`);
    for (const name of names) await writeFile(join(dir, `${name}.yaml`), doc(name));
    const op = startOperator({
      dir,
      stateDir,
      nomadAddr: nomad.address,
      ownerId: "outage-suite",
      env: {
        CONSUL_HTTP_ADDR: consul.url,
        GRAFANA_URL: grafana.url,
        DOCKER_HOST: `unix://${join(root, "no-docker.sock")}`,
      },
      extra: ["--resync", "2s"],
    });
    const count = () =>
      [...nomad.state.jobs.values()].filter(
        (r) => r.job.Meta?.mlops_owner_id === "outage-suite" && !r.job.Stop,
      ).length;
    try {
      const base = await metricsBase(op);
      await until("20 jobs registered", () => count() === 20);
      for (const name of names)
        for (const a of nomad.state.jobAllocs("default", name)) nomad.lifecycle.running(a.ID);
      await until("all Running", () => {
        const p = phases(stateDir);
        return p.size === 20 && [...p.values()].every((x) => x === "Running");
      });
      await until("ready", async () => (await readyz(base)).status === 200);

      const priority = (name: string) => nomad.state.job("default", name)?.Priority;
      const annotated = (name: string) =>
        [...grafana.state.annotations.values()].filter((a) => a.tags.includes(`default/${name}`)).length;
      const cases: OutageCase[] = [
        {
          name: "Nomad refuses connections",
          start: () => nomad.setOutage("refuse"),
          end: () => nomad.setOutage("none"),
          ms: 4_000,
          readyz: { status: 503, body: /not ready: nomad http:\/\/127\.0\.0\.1:\d+: NomadUnavailable/ },
          during: () => writeFile(join(dir, "run-1.yaml"), doc("run-1", 61)),
          recovered: () => priority("run-1") === 61,
        },
        {
          name: "Nomad answers 500",
          start: () => nomad.setOutage("error"),
          end: () => nomad.setOutage("none"),
          ms: 4_000,
          readyz: { status: 503, body: /not ready: nomad .*: (NomadError|NomadUnavailable)/ },
          during: () => writeFile(join(dir, "run-2.yaml"), doc("run-2", 62)),
          recovered: () => priority("run-2") === 62,
        },
        {
          name: "Nomad hangs past every timeout",
          start: () => nomad.setOutage("stall"),
          end: () => nomad.setOutage("none"),
          ms: 10_000,
          readyz: { status: 503, body: /not ready: nomad .*: Unavailable: no answer within 4000 ms/ },
          during: () => writeFile(join(dir, "run-3.yaml"), doc("run-3", 63)),
          recovered: () => priority("run-3") === 63,
        },
        {
          name: "Nomad's event stream stalls while a job is purged by hand",
          start: () => nomad.stallStreams(),
          end: () => undefined,
          ms: 3_000,
          readyz: { status: 200, body: /^ok\n$/ },
          during: async () => {
            await fetch(`${nomad.address}/v1/job/run-4?purge=true`, { method: "DELETE" });
          },
          recovered: () => nomad.state.job("default", "run-4") !== undefined,
          mayFlip: ["run-4"],
        },
        {
          name: "Consul refuses connections",
          start: () => consul.setOutage("refuse"),
          end: () => consul.setOutage("none"),
          ms: 6_000,
          readyz: { status: 200, body: /degraded: consul http:\/\/127\.0\.0\.1:\d+: ConsulUnavailable/ },
        },
        {
          name: "Grafana refuses connections while a new job starts",
          start: () => grafana.setOutage("refuse"),
          end: () => grafana.setOutage("none"),
          ms: 6_000,
          readyz: { status: 200, body: /degraded: grafana http:\/\/127\.0\.0\.1:\d+: GrafanaUnavailable/ },
          during: () => writeFile(join(dir, "late.yaml"), doc("late")),
          recovered: () => annotated("late") === 1,
        },
      ];
      for (const c of cases) await survive(op, base, stateDir, c, count);
      // The job purged behind the stalled stream came back as the same run; nothing doubled.
      expect(annotated("late")).toBe(1);
      for (const name of names) expect(annotated(name)).toBe(1);
      expect(count()).toBe(21);
    } finally {
      await op.stop();
    }
    expect(await op.exited).toBe(0);
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

// `make test-real`: the contract suites and the end-to-end scenario against real Nomad, Consul and
// Grafana instead of the doubles. A server comes from its address (NOMAD_ADDR, CONSUL_HTTP_ADDR,
// GRAFANA_URL) or, failing that, from its official image started with testcontainers:
// hashicorp/nomad:1.9.6 `agent -dev`, hashicorp/consul:1.20.2 `agent -dev`, grafana/grafana:11.5.2.
// An image is used when the local Docker engine has it; it is pulled only where a registry is
// reachable and pulling is asked for (MLOPS_TEST_REAL_PULL=1) or under CI=true. When no server can be
// had the run is skipped with one line saying why; under CI=true that is a failure, never a silent
// skip. The end-to-end stack scenario runs on the official images when all of them are at hand.
import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Docker from "dockerode";
import { GenericContainer, type StartedTestContainer, Wait } from "testcontainers";

type System = "nomad" | "consul" | "grafana";

interface Spec {
  readonly env: string;
  readonly image: string;
  readonly port: number;
  readonly command?: readonly string[];
  readonly ready: string;
  readonly extraEnv?: Readonly<Record<string, string>>;
}

const SPECS: Record<System, Spec> = {
  nomad: {
    env: "NOMAD_ADDR",
    image: "hashicorp/nomad:1.9.6",
    port: 4646,
    command: ["agent", "-dev", "-bind", "0.0.0.0"],
    ready: "/v1/status/leader",
  },
  consul: {
    env: "CONSUL_HTTP_ADDR",
    image: "hashicorp/consul:1.20.2",
    port: 8500,
    command: ["agent", "-dev", "-client", "0.0.0.0"],
    ready: "/v1/status/leader",
  },
  grafana: {
    env: "GRAFANA_URL",
    image: "grafana/grafana:11.5.2",
    port: 3000,
    ready: "/api/health",
    // The image's first admin, as the contract suite logs in.
    extraEnv: { GRAFANA_USER: "admin", GRAFANA_PASSWORD: "admin" },
  },
};

/** The official images the end-to-end stack runs on (the CRD's pinned defaults). */
const E2E_IMAGES = [
  "hashicorp/consul:1.20.2",
  "hashicorp/nomad:1.9.6",
  "prom/prometheus:v2.55.1",
  "grafana/grafana:11.5.2",
];

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ci = process.env.CI === "true";
const mayPull = ci || process.env.MLOPS_TEST_REAL_PULL === "1";

async function hasImage(docker: Docker | undefined, image: string): Promise<boolean> {
  if (!docker) return false;
  try {
    await docker.getImage(image).inspect();
    return true;
  } catch {
    return false;
  }
}

async function engine(): Promise<Docker | undefined> {
  const docker = new Docker();
  try {
    await docker.ping();
    return docker;
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
  const docker = await engine();
  const env: Record<string, string> = { MLOPS_TEST_REAL: "1" };
  const started: StartedTestContainer[] = [];
  const missing: string[] = [];
  try {
    for (const system of Object.keys(SPECS) as System[]) {
      const spec = SPECS[system];
      const given = process.env[spec.env];
      if (given) {
        env[spec.env] = given;
        continue;
      }
      if (!docker || !((await hasImage(docker, spec.image)) || mayPull)) {
        missing.push(spec.image);
        continue;
      }
      let container = new GenericContainer(spec.image)
        .withExposedPorts(spec.port)
        .withWaitStrategy(Wait.forHttp(spec.ready, spec.port).forStatusCode(200))
        .withStartupTimeout(120_000);
      if (spec.command) container = container.withCommand([...spec.command]);
      const running = await container.start(); // pulls when the image is absent (mayPull)
      started.push(running);
      env[spec.env] = `http://${running.getHost()}:${running.getMappedPort(spec.port)}`;
      Object.assign(env, spec.extraEnv ?? {});
    }
    const servers = (Object.keys(SPECS) as System[]).filter((s) => env[SPECS[s].env]);
    if (servers.length === 0) {
      const why = docker
        ? `${missing.join(", ")} are not on the local Docker engine and pulling is off (no registry reachable here; MLOPS_TEST_REAL_PULL=1 pulls them)`
        : "and no Docker engine answers to start the official images";
      console.log(
        `make test-real: skipped: no NOMAD_ADDR, CONSUL_HTTP_ADDR or GRAFANA_URL given, ${why}${ci ? " — CI=true: failing" : ""}`,
      );
      return ci ? 1 : 0;
    }
    if (ci && missing.length > 0) {
      console.log(`make test-real: CI=true and no server for ${missing.join(", ")}: failing`);
      return 1;
    }
    const suites = [
      "test/contract/nomad-behaviour.test.ts",
      "test/contract/nomad.test.ts",
      "test/contract/consul.test.ts",
      "test/contract/grafana.test.ts",
    ];
    let status = vitest(suites, env);
    const images = await Promise.all(E2E_IMAGES.map((image) => hasImage(docker, image)));
    if (images.every(Boolean) || (docker && mayPull)) {
      status ||= vitest(["test/e2e/stack.test.ts"], { ...env, MLOPS_E2E_OFFICIAL_IMAGES: "1" });
    } else {
      const line = `make test-real: end-to-end stack on the official images skipped: ${E2E_IMAGES.filter((_, i) => !images[i]).join(", ")} not on the local engine`;
      console.log(ci ? `${line} — CI=true: failing` : line);
      if (ci) status = 1;
    }
    return status;
  } finally {
    await Promise.all(started.map((c) => c.stop().catch(() => undefined)));
  }
}

function vitest(files: readonly string[], env: Record<string, string>): number {
  // This Node (the project's), not whatever `node` the PATH has.
  const run = spawnSync(
    process.execPath,
    [resolve(root, "node_modules/vitest/vitest.mjs"), "run", ...files],
    {
      cwd: root,
      stdio: "inherit",
      env: { ...process.env, ...env },
    },
  );
  return run.status ?? 1;
}

process.exitCode = await main();

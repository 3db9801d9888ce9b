// Crash safety of an MlopsStack on the real Docker engine: `mlopsctl run` (scheduler docker) is
// killed with SIGKILL at seeded random points while it creates a stack (local stand-in images, a
// network name and subnet of its own, host ports chosen by the engine), restarted each time, then
// left running until the stack is Ready. Then there must be exactly one container per component
// and one network of the stack's name; `removeStack` removes everything this owner made. Used by
// test/integration/crash-stack.test.ts and bench/crash-stack.ts.
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { startOperator } from "./operator-process.ts";
import { below, seeded } from "./random.ts";

const exec = promisify(execFile);

const IMAGES = {
  consul: "mlops-operator/consul-standin:dev",
  nomad: "mlops-operator/nomad-standin:dev",
  prometheus: "mlops-operator/prometheus:dev",
  grafana: "mlops-operator/grafana-standin:dev",
} as const;

export interface StackCrashOptions {
  readonly root: string;
  readonly ownerId: string;
  /** A network name and a /24 subnet (`172.31.N.0/24`) no other suite uses. */
  readonly network: string;
  readonly subnet24: number;
  readonly kills: number;
  readonly seed: number;
  /** Kill within this long after start-up (default 8 s: a stack takes a few seconds to come up). */
  readonly maxKillDelayMs?: number;
  readonly progress?: (line: string) => void;
}

export interface StackCrashFigures {
  readonly kills: number;
  readonly lockRefusals: number;
  readonly ready: boolean;
  /** Component → containers of that name (must be 1 each). */
  readonly containers: Record<string, number>;
  readonly networks: number;
  readonly statusWhole: boolean;
  readonly wallMs: number;
}

function stackYaml(options: StackCrashOptions): string {
  const ip = (last: number) => `172.31.${options.subnet24}.${last}`;
  // This machine kind's engine refuses privileged containers (docs/stack.md, spec.nomad.privileged).
  const privileged = process.env.MLOPS_STACK_NOMAD_PRIVILEGED === "1";
  return `apiVersion: mlops.dev/v1alpha1
kind: MlopsStack
metadata: { name: crash }
spec:
  network: { name: ${options.network}, subnet: "172.31.${options.subnet24}.0/24" }
  consul: { image: ${IMAGES.consul}, ip: "${ip(10)}", hostPort: 0 }
  nomad: { image: ${IMAGES.nomad}, ip: "${ip(20)}", hostPort: 0, privileged: ${privileged} }
  prometheus: { image: ${IMAGES.prometheus}, ip: "${ip(30)}", hostPort: 0, serviceDiscovery: http, scrapeInterval: 2s }
  grafana: { image: ${IMAGES.grafana}, ip: "${ip(40)}", hostPort: 0 }
`;
}

async function docker(...args: string[]): Promise<string[]> {
  const { stdout } = await exec("docker", args);
  return stdout.split("\n").filter(Boolean);
}

export async function crashStack(options: StackCrashOptions): Promise<StackCrashFigures> {
  const started = performance.now();
  const random = seeded(options.seed);
  const dir = join(options.root, "stack");
  const stateDir = join(options.root, "stack-state");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "crash.yaml"), stackYaml(options));
  const args = {
    dir,
    stateDir,
    scheduler: "docker" as const,
    ownerId: options.ownerId,
    extra: ["--resync", "5s"],
    env: {},
  };
  let lockRefusals = 0;
  for (let kill = 0; kill < options.kills; kill++) {
    const op = startOperator(args);
    if (!(await op.line(/"operator starting"/, 60_000))) {
      if ((await op.exited) === 75) lockRefusals++;
      continue;
    }
    await new Promise((resolve) => setTimeout(resolve, below(random, options.maxKillDelayMs ?? 8_000)));
    await op.kill();
    const made = await docker("ps", "-aq", "--filter", `label=mlops.dev/owner-id=${options.ownerId}`);
    options.progress?.(`kill ${kill + 1}/${options.kills}: ${made.length} containers so far`);
  }
  const op = startOperator(args);
  const statusFile = join(stateDir, "status", "mlopsstack", "default", "crash.json");
  let ready = false;
  let statusWhole = true;
  const deadline = Date.now() + 90_000;
  while (!ready && Date.now() < deadline && op.child.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    try {
      const record = JSON.parse(readFileSync(statusFile, "utf8")) as {
        status?: { conditions?: { type: string; status: string }[] };
      };
      ready = record.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") statusWhole = false;
    }
  }
  if (!ready) options.progress?.(`not Ready: ${op.lines.slice(-5).join(" | ")}`);
  await op.stop();
  const containers: Record<string, number> = {};
  for (const component of Object.keys(IMAGES)) {
    containers[component] = (
      await docker(
        "ps",
        "-aq",
        "--filter",
        `label=mlops.dev/owner-id=${options.ownerId}`,
        "--filter",
        `label=mlops.dev/component=${component}`,
      )
    ).length;
  }
  const networks = (await docker("network", "ls", "--filter", `name=^${options.network}$`, "-q")).length;
  return {
    kills: options.kills,
    lockRefusals,
    ready,
    containers,
    networks,
    statusWhole,
    wallMs: performance.now() - started,
  };
}

/** Removes every container, network and volume labelled with `ownerId` (and the network by name). */
export async function removeStack(ownerId: string, network: string): Promise<void> {
  const label = `label=mlops.dev/owner-id=${ownerId}`;
  const containers = await docker("ps", "-aq", "--filter", label);
  if (containers.length > 0) await docker("rm", "-f", ...containers).catch(() => []);
  const networks = [
    ...(await docker("network", "ls", "-q", "--filter", label)),
    ...(await docker("network", "ls", "-q", "--filter", `name=^${network}$`)),
  ];
  for (const id of new Set(networks)) await docker("network", "rm", id).catch(() => []);
  const volumes = await docker("volume", "ls", "-q", "--filter", label);
  if (volumes.length > 0) await docker("volume", "rm", ...volumes).catch(() => []);
}

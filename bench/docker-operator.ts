// The whole operator on the local Docker engine (the embedded default), in process, as `mlopsctl run`
// builds it: (1) from a file landing in the watched directory to its container running, and from the
// container's exit to Succeeded in status — medians over 20 runs, one after another; (2) 200 short
// TrainingJobs at once with --concurrency 8: total time, peak RSS, and nothing left behind after the
// files are removed. Run: node bench/docker-operator.ts [runs] [fanout]
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import Docker from "dockerode";
import { buildOperator } from "../src/cli/compose.ts";
import { createLogger, silentLogger } from "../src/observability/logger.ts";
import { cleanup } from "./lib/cleanup.ts";
import { percentile } from "./lib/stats.ts";
import { tempDir } from "./lib/temp.ts";

const runs = Number(process.argv[2] ?? 20);
const fanout = Number(process.argv[3] ?? 200);
const owner = `bench-op-${process.pid}`;
const docker = new Docker();
const dir = tempDir("docker-op");
const phases = new Map<string, { phase: string; at: number }>();
const waiters: (() => void)[] = [];

const job = (name: string, epochs: number) => `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: { name: ${name} }
spec:
  image: mlops-operator/trainer:dev
  env: [{ name: EPOCHS, value: "${epochs}" }, { name: EPOCH_SECONDS, value: "0.1" }]
  resources: { cpu: 100, memoryMB: 32 }
`;

const operator = await buildOperator({
  source: { kind: "directory", dir },
  stateDir: `${dir}-state`,
  once: false,
  concurrency: 8,
  metricsAddr: "127.0.0.1:0",
  scheduler: "docker",
  ownerId: owner,
  startupTimeoutMs: 600_000,
  resyncMs: 0,
  log: process.env.BENCH_LOG ? createLogger({ level: "warn", pretty: false }) : silentLogger(),
  // The clean-up at the end removes all but the sentinel's file at once: a mass prune, confirmed here.
  prune: { settleMs: 2000, enabled: true, mass: { maxFraction: 0.5, maxCount: 10, allow: true } },
  onPhase: (resource, _from, to) => {
    phases.set(resource.metadata.name, { phase: String(to), at: performance.now() });
    for (const wake of waiters.splice(0)) wake();
  },
});

async function until(what: string, check: () => boolean, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise<void>((resolve) => {
      waiters.push(resolve);
      setTimeout(resolve, 50);
    });
  }
}

// Container starts and deaths of this operator's containers, with the engine's timestamps.
const started = new Map<string, number>();
const died = new Map<string, number>();
const events = (await docker.getEvents({
  filters: { label: [`mlops.dev/owner-id=${owner}`], type: ["container"] },
})) as NodeJS.ReadableStream;
let buffer = "";
events.on("data", (chunk: Buffer) => {
  buffer += chunk.toString();
  for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
    const line = buffer.slice(0, nl);
    buffer = buffer.slice(nl + 1);
    const e = JSON.parse(line) as {
      Action: string;
      Actor: { Attributes: Record<string, string> };
      timeNano: number;
    };
    const name = e.Actor.Attributes.name ?? "";
    if (e.Action === "start" && !started.has(name)) started.set(name, performance.now());
    if (e.Action === "die") died.set(name, e.timeNano / 1e6);
  }
});

// A suspended job that stays: removing every file empties the directory, and an empty directory
// never prunes anything (a safety rule), so the pruning at the end needs one resource left.
await writeFile(
  join(dir, "sentinel.yaml"),
  job("sentinel", 1).replace("spec:\n", "spec:\n  suspend: true\n"),
);

try {
  await operator.server.listen();
  await operator.source.start();
  operator.controller.start();

  const toRunning: number[] = [];
  const exitToSucceeded: number[] = [];
  for (let i = 0; i < runs; i++) {
    const name = `lat-${i}`;
    const container = `mlops.default.${name}.0`;
    const t0 = performance.now();
    await writeFile(join(dir, `${name}.yaml`), job(name, 3));
    await until(`${name} running`, () => started.has(container), 30_000);
    toRunning.push((started.get(container) as number) - t0);
    await until(
      `${name} succeeded`,
      () => phases.get(name)?.phase === "Succeeded" && died.has(container),
      60_000,
    );
    // Engine time of the exit vs wall time of the status write (same host clock).
    const wallAtSucceeded = Date.now() - (performance.now() - (phases.get(name)?.at as number));
    exitToSucceeded.push(wallAtSucceeded - (died.get(container) as number));
  }
  const med = (values: number[]) =>
    `${percentile(values, 50).toFixed(0)} ms (p90 ${percentile(values, 90).toFixed(0)} ms)`;
  console.log(`file landing → container running (median of ${runs}): ${med(toRunning)}`);
  console.log(`container exit → Succeeded in status (median of ${runs}): ${med(exitToSucceeded)}`);

  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: fanout }, (_, i) => writeFile(join(dir, `fan-${i}.yaml`), job(`fan-${i}`, 2))),
  );
  await until(
    `${fanout} succeeded`,
    () => [...Array(fanout).keys()].every((i) => phases.get(`fan-${i}`)?.phase === "Succeeded"),
    600_000,
  );
  const total = performance.now() - t0;
  console.log(
    `${fanout} TrainingJobs at once, --concurrency 8: all Succeeded in ${(total / 1000).toFixed(1)} s`,
  );
  console.log(
    `peak RSS (operator and benchmark, one process): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
  );

  for (let i = 0; i < fanout; i++) await rm(join(dir, `fan-${i}.yaml`));
  for (let i = 0; i < runs; i++) await rm(join(dir, `lat-${i}.yaml`));
  const left = async () =>
    (await docker.listContainers({ all: true, filters: { label: [`mlops.dev/owner-id=${owner}`] } })).length;
  const deadline = performance.now() + 120_000;
  let remaining = await left();
  while (remaining > 0 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    remaining = await left();
  }
  console.log(`files removed → containers left behind: ${remaining}`);
} finally {
  (events as unknown as { destroy(): void }).destroy();
  await operator.controller.stop();
  await operator.close();
  for (const c of await docker.listContainers({
    all: true,
    filters: { label: [`mlops.dev/owner-id=${owner}`] },
  })) {
    await docker.getContainer(c.Id).remove({ force: true });
  }
  await rm(`${dir}-state`, { recursive: true, force: true });
  await cleanup();
}

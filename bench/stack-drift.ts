// Drift repair of an MlopsStack on the real Docker engine (local images): the reconciler runs as
// the controller runs it (woken by Docker events through changes(), requeues honoured). Measures,
// over N runs, the time from `docker rm -f` of a stack container to (a) its replacement running and
// (b) its replacement healthy (Docker's health check, 1 s interval). Median and max.
// Run: node bench/stack-drift.ts [runs=10] [component=grafana]
import type { StackComponent } from "../src/api/names.ts";
import { stackContainerName } from "../src/api/names.ts";
import { cleanupDocker, createHarness, isReady, LOCAL_IMAGES, stackResource } from "../test/stack/harness.ts";

const runs = Number(process.argv[2] ?? 10);
const component = (process.argv[3] ?? "grafana") as StackComponent;
const h = await createHarness({ ownerId: "bench-stack-drift", suite: "stack-bench-drift" });
const stack = stackResource("drift", {
  network: { name: "mlops-bench-drift", subnet: "172.24.0.0/16" },
  consul: { image: LOCAL_IMAGES.consul, ip: "172.24.0.10", hostPort: 0 },
  nomad: { image: LOCAL_IMAGES.nomad, ip: "172.24.0.20", hostPort: 0 },
  prometheus: { image: LOCAL_IMAGES.prometheus, ip: "172.24.0.30", hostPort: 0, serviceDiscovery: "http" },
  grafana: { image: LOCAL_IMAGES.grafana, ip: "172.24.0.40", hostPort: 0 },
});
const name = stackContainerName("default", "drift", component);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const toRunning: number[] = [];
const toHealthy: number[] = [];
const driver = h.drive(() => stack);
try {
  for (let i = 0; i < 600 && !isReady(h.statusOf(stack) ?? {}); i++)
    await new Promise((r) => setTimeout(r, 100));
  if (!isReady(h.statusOf(stack) ?? {})) throw new Error("stack did not become Ready");
  for (let i = 0; i < runs; i++) {
    const old = (await h.conn.docker.getContainer(name).inspect()).Id;
    const t0 = performance.now();
    await h.conn.docker.getContainer(old).remove({ force: true });
    let running: number | undefined;
    for (let j = 0; j < 2000; j++) {
      const c = await h.conn.docker
        .getContainer(name)
        .inspect()
        .catch(() => undefined);
      if (c && c.Id !== old && c.State.Running && running === undefined) running = performance.now() - t0;
      if (c && c.Id !== old && c.State.Health?.Status === "healthy") {
        toHealthy.push(performance.now() - t0);
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    if (running !== undefined) toRunning.push(running);
    // Let the stack settle (Ready) before the next removal.
    for (let j = 0; j < 200 && !isReady(h.statusOf(stack) ?? {}); j++)
      await new Promise((r) => setTimeout(r, 50));
  }
  const fmt = (xs: number[]) =>
    `median ${Math.round(median(xs))} ms, max ${Math.round(Math.max(...xs))} ms (n=${xs.length})`;
  console.log(`stack drift (${component}): rm -f → replacement running: ${fmt(toRunning)}`);
  console.log(`stack drift (${component}): rm -f → replacement healthy: ${fmt(toHealthy)}`);
  console.log(`reconciles: ${driver.reconciles}`);
} finally {
  driver.stop();
  await h.reconciler.finalize("MlopsStack/default/drift", stack, h.ctx).catch(() => undefined);
  h.close();
  await cleanupDocker(h.conn, "stack-bench-drift");
}

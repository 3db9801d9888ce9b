// Cold start of a whole MlopsStack with local images: from the resource reaching the reconciler
// (run as the controller runs it: Docker events and requeues) to every component Ready. Each run
// uses a fresh stack (new network, volumes and containers) and removes it afterwards.
// serviceDiscovery: http (Debian's Prometheus in the local image has no Consul discovery).
// Run: node bench/stack-coldstart.ts [runs=3]
import { cleanupDocker, createHarness, isReady, LOCAL_IMAGES, stackResource } from "../test/stack/harness.ts";

const runs = Number(process.argv[2] ?? 3);
const h = await createHarness({ ownerId: "bench-stack-coldstart", suite: "stack-bench-coldstart" });
const times: number[] = [];
try {
  for (let i = 0; i < runs; i++) {
    const name = `cold-${i}`;
    const stack = stackResource(name, {
      network: { name: `mlops-bench-cold-${i}`, subnet: "172.23.0.0/16" },
      consul: { image: LOCAL_IMAGES.consul, ip: "172.23.0.10", hostPort: 0 },
      nomad: { image: LOCAL_IMAGES.nomad, ip: "172.23.0.20", hostPort: 0 },
      prometheus: {
        image: LOCAL_IMAGES.prometheus,
        ip: "172.23.0.30",
        hostPort: 0,
        serviceDiscovery: "http",
      },
      grafana: { image: LOCAL_IMAGES.grafana, ip: "172.23.0.40", hostPort: 0 },
    });
    const t0 = performance.now();
    const driver = h.drive(() => stack);
    for (let j = 0; j < 2400 && !isReady(h.statusOf(stack) ?? {}); j++)
      await new Promise((r) => setTimeout(r, 25));
    const ms = performance.now() - t0;
    driver.stop();
    if (!isReady(h.statusOf(stack) ?? {})) {
      throw new Error(`${name} did not become Ready: ${JSON.stringify(h.statusOf(stack))}`);
    }
    times.push(ms);
    console.log(`cold start ${i + 1}/${runs}: ${Math.round(ms)} ms (${driver.reconciles} reconciles)`);
    await h.reconciler.finalize(
      `MlopsStack/default/${name}`,
      { ...stack, spec: { ...stack.spec, retainVolumes: false } },
      h.ctx,
    );
  }
  const sorted = [...times].sort((a, b) => a - b);
  console.log(
    `stack cold start: median ${Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0)} ms over ${runs} runs`,
  );
} finally {
  h.close();
  await cleanupDocker(h.conn, "stack-bench-coldstart");
}

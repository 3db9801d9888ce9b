// Benchmark: the status page and its JSON API at 10,000 resources. Writes 10,000 TrainingJob status
// records (10 namespaces, a third Failed with a message) to a fresh state directory, starts the web
// routes on the operator's HTTP server in this process (as `mlopsctl run` does), then times sequential
// requests over loopback: the first page, a page deep in the list, a namespace's page, and the whole
// /api/v1/trainingjobs List. Also the time to read the records at start. Target: page p95 ≤ 200 ms.
//   node bench/web-page.ts [--count 10000] [--requests 200]
import { parseArgs } from "node:util";
import type { TrainingJob } from "../src/api/resources.ts";
import { webRowFormat } from "../src/cli/web-format.ts";
import { OperatorServer } from "../src/observability/server.ts";
import { StateStore } from "../src/sources/state/index.ts";
import { registerWeb, StatusView } from "../src/web/index.ts";
import { main } from "./lib/cleanup.ts";
import { ms, percentile, table, verdict } from "./lib/stats.ts";
import { tempDir } from "./lib/temp.ts";

const { values } = parseArgs({
  options: { count: { type: "string", default: "10000" }, requests: { type: "string", default: "200" } },
});
const count = Number(values.count);
const requests = Number(values.requests);

function job(i: number): TrainingJob {
  return {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingJob",
    metadata: {
      name: `job-${String(i).padStart(5, "0")}`,
      namespace: `team-${i % 10}`,
      generation: 1,
      creationTimestamp: new Date(Date.now() - i * 1000).toISOString(),
    },
    spec: {
      image: "registry.local/mnist:1",
      replicas: 1,
      resources: { cpu: 500, memoryMB: 1024, gpus: 0 },
      priority: 50,
      backoffLimit: 3,
      suspend: false,
    },
  };
}

async function timed(base: string, path: string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < requests; i++) {
    const t0 = performance.now();
    const res = await fetch(`${base}${path}`);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
    out.push(performance.now() - t0);
  }
  return out;
}

main("web-page", 600_000, async () => {
  const stateDir = tempDir("web");
  const store = new StateStore(stateDir);
  const now = new Date().toISOString();
  for (let i = 0; i < count; i++) {
    const failed = i % 3 === 0;
    await store.writeStatus(job(i), {
      phase: failed ? "Failed" : "Running",
      observedGeneration: 1,
      conditions: [
        {
          type: "Ready",
          status: failed ? "False" : "True",
          reason: failed ? "OOMKilled" : "Running",
          message: failed ? "replica 0 was killed: out of memory (limit 1024 MB)" : "every replica runs",
          lastTransitionTime: now,
          observedGeneration: 1,
        },
      ],
      progress: { ratio: (i % 100) / 100 },
      run: { id: `run-${i}`, scheduler: "nomad", target: "http://127.0.0.1:4646" },
    });
  }
  await store.close();
  const t0 = performance.now();
  const view = new StatusView(store); // closed: the records are on disk, read at start
  await view.start();
  const startMs = performance.now() - t0;
  const server = new OperatorServer({ address: "127.0.0.1:0" });
  registerWeb(server, view, webRowFormat);
  const base = `http://${await server.listen()}`;
  try {
    const rows: string[][] = [["request", "p50", "p95", "max", "target", "verdict"]];
    const deep = Math.max(1, Math.floor(count / 200 / 2));
    for (const [label, path, target] of [
      ["GET / (first page)", "/", 200],
      [`GET /?page=${deep}`, `/?page=${deep}`, 200],
      ["GET /?namespace=team-3", "/?namespace=team-3", 200],
      [`GET /api/v1/trainingjobs (${count} items)`, "/api/v1/trainingjobs", Number.NaN],
    ] as const) {
      const times = await timed(base, path);
      const p95 = percentile(times, 95);
      rows.push([
        label,
        ms(percentile(times, 50)),
        ms(p95),
        ms(Math.max(...times)),
        Number.isNaN(target) ? "-" : `≤ ${target} ms`,
        Number.isNaN(target) ? "-" : verdict(p95, target),
      ]);
    }
    process.stdout.write(
      `${view.list().length} records read at start in ${ms(startMs)}; ${requests} requests each\n`,
    );
    process.stdout.write(`${table(rows)}\n`);
  } finally {
    view.close();
    await server.close();
  }
});

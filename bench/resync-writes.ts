// Benchmark: a no-op resync. Converge 10,000 TrainingJobs (`mlopsctl run --once`), then run the same
// command again over the same directory and state directory and count every write it makes: requests
// to Nomad, Consul, Grafana and Docker (POST/PUT/PATCH/DELETE through counting proxies on loopback in
// front of the doubles and the Docker socket) and files it changes in the state directory (status,
// events, generations). Target: 0 of each. A third pass shows whether the second one settled things.
// Each pass's CPU and peak RSS are the operator's (getrusage at exit).
//   node bench/resync-writes.ts [--count 10000] [--passes 2] [--timeout-s 300]
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { main } from "./lib/cleanup.ts";
import { converge, convergedLine } from "./lib/converge.ts";
import { startDouble } from "./lib/doubles.ts";
import { mlopsctlBuild, type OnceResult, runOnce } from "./lib/operator.ts";
import { type CountingProxy, countingProxy, writeSummary } from "./lib/proxy.ts";
import { changedFiles, snapshot } from "./lib/state-files.ts";
import { mb, s, table } from "./lib/stats.ts";
import { tempDir } from "./lib/temp.ts";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "10000" },
    passes: { type: "string", default: "2" },
    "timeout-s": { type: "string", default: "300" },
  },
});
const count = Number(values.count);
const passes = Math.min(5, Math.max(1, Number(values.passes)));
const limitMs = Number(values["timeout-s"]) * 1000;
const DOCKER_SOCKET = "/var/run/docker.sock";

main("resync-writes", limitMs * (passes + 1) + 120_000, async () => {
  const root = tempDir("resync");
  const consul = await startDouble("consul");
  const grafana = await startDouble("grafana");
  const proxies: Record<"nomad" | "consul" | "grafana" | "docker", CountingProxy> = {
    nomad: await countingProxy({ url: "http://127.0.0.1:1" }), // replaced below, once the Nomad double is up
    consul: await countingProxy({ url: consul.address }),
    grafana: await countingProxy({ url: grafana.address }),
    docker: await countingProxy({ socketPath: DOCKER_SOCKET }),
  };
  await proxies.nomad.close();
  const env = {
    CONSUL_HTTP_ADDR: proxies.consul.url,
    GRAFANA_URL: proxies.grafana.url,
    DOCKER_HOST: `tcp://${proxies.docker.url.slice("http://".length)}`,
  };
  process.stdout.write(
    `resync-writes: ${count} TrainingJobs; operator → counting proxies → Nomad, Consul, Grafana doubles and ${existsSync(DOCKER_SOCKET) ? "the Docker engine" : "no Docker engine (requests still counted)"}\n`,
  );
  process.stdout.write(`mlopsctl runs the ${mlopsctlBuild()}\n`);
  const c = await converge({
    root,
    count,
    limitMs,
    env,
    nomadVia: async (nomad) => {
      proxies.nomad = await countingProxy({ url: nomad.address });
      return proxies.nomad.url;
    },
  });
  process.stdout.write(`${convergedLine(c, count)} in ${s(c.once.wallMs)}\n`);
  const total = (p: CountingProxy) => [...p.counts.values()].reduce((a, b) => a + b, 0);
  const writes = (p: CountingProxy) => `${p.writes()} of ${total(p)}`;
  const rows: string[][] = [
    [
      "pass",
      "wall",
      "CPU",
      "peak RSS",
      "Nomad",
      "Consul",
      "Grafana",
      "Docker",
      "status files",
      "event logs",
      "other state",
    ],
  ];
  const row = (name: string, run: OnceResult, files: Map<string, number>) => [
    name,
    s(run.wallMs),
    run.usage ? s(run.usage.cpuMs) : "n/a",
    run.usage ? mb(run.usage.peakRssBytes) : "n/a",
    writes(proxies.nomad),
    writes(proxies.consul),
    writes(proxies.grafana),
    writes(proxies.docker),
    String(files.get("status") ?? 0),
    String(files.get("events") ?? 0),
    String([...files].filter(([g]) => g !== "status" && g !== "events").reduce((n, [, k]) => n + k, 0)),
  ];
  rows.push(
    row("1 (converge)", c.once, changedFiles(new Map(), snapshot(c.setup.stateDir), c.setup.stateDir)),
  );
  const details: string[] = [];
  let failed = c.once.code !== 0;
  for (let pass = 2; pass <= passes + 1; pass++) {
    for (const p of Object.values(proxies)) p.reset();
    const before = snapshot(c.setup.stateDir);
    const again = await runOnce(c.setup, join(root, `usage-pass-${pass}.json`), limitMs);
    const files = changedFiles(before, snapshot(c.setup.stateDir), c.setup.stateDir);
    rows.push(row(`${pass} (resync)`, again, files));
    for (const [system, p] of Object.entries(proxies)) {
      const lines = writeSummary(p.counts);
      if (lines.length > 0) details.push(`pass ${pass} ${system} writes: ${lines.join(", ")}`);
    }
    if (again.code !== 0) {
      failed = true;
      details.push(`pass ${pass} exited ${again.code}: ${again.stderr.join(" | ")}`);
    }
  }
  process.stdout.write(
    `writes per pass ("w of n": w write requests among n requests; target for a resync pass: 0 writes everywhere)\n${table(rows)}\n`,
  );
  for (const line of details) process.stdout.write(`${line}\n`);
  if (failed) process.exitCode = 1;
});

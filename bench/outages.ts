// Benchmark: outages at full length. (1) Nomad refusing, answering 500, hanging, its event stream
// stalled, Consul and Grafana refusing, each for --outage-s (default 60) while `mlopsctl run` holds
// 20 running TrainingJobs (test/safety/outages.ts): what /healthz, /metrics and /readyz answered,
// phases flipped, jobs lost, log lines per second, RSS before and after, time to converge after
// recovery. (2) --flaky-count TrainingJobs (default 10,000) converged through a proxy that fails
// 1 % of Nomad calls at random (seeded): how many converged, how many calls failed.
//   node bench/outages.ts [--outage-s 60] [--flaky-count 10000] [--seed 7]
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startNomadDouble } from "../test/doubles/nomad/index.ts";
import { faultProxy } from "../test/safety/fault-proxy.ts";
import { startOperator } from "../test/safety/operator-process.ts";
import { metricsBase, outageSuite, until } from "../test/safety/outages.ts";
import { main, onCleanup } from "./lib/cleanup.ts";
import { tempDir } from "./lib/temp.ts";

const { values } = parseArgs({
  options: {
    "outage-s": { type: "string", default: "60" },
    "flaky-count": { type: "string", default: "10000" },
    seed: { type: "string", default: "7" },
  },
});
const outageMs = Number(values["outage-s"]) * 1000;
const flakyCount = Number(values["flaky-count"]);

main("outages", 3_600_000, async () => {
  const root = tempDir("outages");
  process.stdout.write(`outages: each outage ${outageMs / 1000} s, 20 running TrainingJobs\n`);
  const suite = await outageSuite(join(root, "suite"), { short: outageMs, hang: outageMs }, (line) =>
    process.stdout.write(`  ${line}\n`),
  );
  let failed = false;
  for (const f of suite.figures) {
    const ok =
      f.healthFailures === 0 &&
      f.slowProbes === 0 &&
      f.readyzSaid &&
      f.flips.length === 0 &&
      f.jobsLost === 0 &&
      f.recoveredMs !== undefined;
    failed ||= !ok;
    process.stdout.write(
      `${f.name.padEnd(52)} ${ok ? "survived" : "FAILED"}: ${f.samples} samples, ${f.healthFailures} health failures, ${f.slowProbes} slow, ${f.logLinesPerSecond.toFixed(2)} log lines/s, RSS ${f.rssBeforeMb.toFixed(0)}→${f.rssAfterMb.toFixed(0)} MB, converged ${f.recoveredMs === undefined ? "—" : `${(f.recoveredMs / 1000).toFixed(1)} s`} after\n`,
    );
  }
  for (const f of suite.figures) {
    if (f.flips.length > 0)
      process.stdout.write(`  ${f.name}: flips ${JSON.stringify(f.flips.slice(0, 3))}\n`);
  }
  process.stdout.write(
    `annotations per run: ${JSON.stringify([...new Set(suite.annotationsPerRun)])}, jobs at the end ${suite.jobs}, exit ${suite.exit}\n`,
  );

  if (flakyCount > 0) {
    const nomad = await startNomadDouble({ heartbeatMs: 1_000 });
    onCleanup(() => nomad.close());
    const proxy = await faultProxy({ url: nomad.address });
    onCleanup(() => proxy.close());
    proxy.setFailRate(0.01, Number(values.seed));
    const dir = join(root, "flaky");
    const stateDir = join(root, "flaky-state");
    mkdirSync(dir, { recursive: true });
    const names = Array.from({ length: flakyCount }, (_, i) => `flaky-${i}`);
    for (const name of names) {
      writeFileSync(
        join(dir, `${name}.yaml`),
        `apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata: { name: ${name} }\nspec:\n  image: registry.example/train:1\n`,
      );
    }
    const t0 = performance.now();
    const op = startOperator({
      dir,
      stateDir,
      nomadAddr: proxy.url,
      ownerId: "bench-flaky",
      env: { DOCKER_HOST: `unix://${join(root, "no-docker.sock")}` },
    });
    onCleanup(() => op.stop().then(() => undefined));
    await metricsBase(op);
    const recorded = (name: string): boolean => {
      try {
        const text = readFileSync(join(stateDir, "status/trainingjob/default", `${name}.json`), "utf8");
        const id = (JSON.parse(text) as { status?: { run?: { id?: string } } }).status?.run?.id;
        return id !== undefined && nomad.state.job("default", name)?.Meta?.mlops_run_id === id;
      } catch {
        return false;
      }
    };
    let pending = names;
    await until(() => {
      pending = pending.filter((n) => !recorded(n));
      return pending.length === 0;
    }, 600_000);
    await op.stop();
    const converged = flakyCount - pending.length;
    failed ||= pending.length > 0;
    process.stdout.write(
      `1 % of Nomad calls failing: ${converged}/${flakyCount} converged in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${proxy.failed} calls failed, ${proxy.forwarded} passed\n`,
    );
  }
  if (failed) process.exitCode = 1;
});

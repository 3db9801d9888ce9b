// Benchmark: load, parse and validate 10,000 TrainingJob files with the directory source, then one
// edit → changes() latency. Prints time and peak RSS. `node bench/directory-load.ts [count]`.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { firstValueFrom, Subject } from "rxjs";
import { filter } from "rxjs/operators";
import { DirectorySource } from "../src/sources/directory/index.ts";
import { StateStore } from "../src/sources/state/index.ts";

const count = Number(process.argv[2] ?? 10_000);
const root = mkdtempSync(join(tmpdir(), "mlops-bench-dir-"));
const dir = join(root, "repo");

function job(i: number, image = "registry.local/train:1.0"): string {
  return `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata:
  name: job-${i}
  namespace: team-${i % 10}
  labels: {team: t${i % 10}}
spec:
  image: ${image}
  command: ["python", "train.py"]
  args: ["--epochs", "10", "--lr", "0.001"]
  env:
    - {name: DATASET, value: /data/set-${i}}
  replicas: 1
  resources: {cpu: 500, memoryMB: 1024, gpus: 0}
  metrics: {port: 9100}
`;
}

try {
  for (let i = 0; i < count; i++) {
    const sub = join(dir, `shard-${i % 100}`);
    if (i < 100) mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `job-${i}.yaml`), job(i));
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  const rssBefore = process.memoryUsage().rss;
  const store = new StateStore(join(root, "state"));
  const source = new DirectorySource({ dir, store });
  const t0 = performance.now();
  await source.start();
  const loadMs = performance.now() - t0;
  const loaded = source.list("TrainingJob").length;
  const rssAfter = process.memoryUsage().rss;
  const heapAfter = process.memoryUsage().heapUsed;
  const peakAfterLoad = process.resourceUsage().maxRSS;

  const edits: number[] = [];
  // changes() replays every known key on subscription; the edits are measured on the live tail.
  const live = new Subject<string>();
  const subscription = source.changes().subscribe(live);
  for (let n = 0; n < 20; n++) {
    const i = (n * 487) % count;
    const key = `TrainingJob/team-${i % 10}/job-${i}`;
    const seen = firstValueFrom(live.pipe(filter((k) => k === key)));
    const t1 = performance.now();
    writeFileSync(join(dir, `shard-${i % 100}`, `job-${i}.yaml`), job(i, `registry.local/train:${n + 2}`));
    await seen;
    edits.push(performance.now() - t1);
  }
  subscription.unsubscribe();
  edits.sort((a, b) => a - b);

  // Status through the state directory: 10,000 first writes, then a no-op pass (nothing written).
  const jobs = source.list("TrainingJob");
  const at = new Date().toISOString();
  const statusOf = (phase: "Pending" | "Running") => ({
    phase,
    observedGeneration: 1,
    conditions: [
      { type: "Ready", status: "False" as const, reason: "Submitting", message: "", lastTransitionTime: at },
    ],
  });
  const t2 = performance.now();
  for (let i = 0; i < jobs.length; i += 256) {
    await Promise.all(jobs.slice(i, i + 256).map((j) => source.write(j, statusOf("Pending"))));
  }
  const writeMs = performance.now() - t2;
  const writesBefore = store.writes;
  const t3 = performance.now();
  for (let i = 0; i < jobs.length; i += 256) {
    await Promise.all(jobs.slice(i, i + 256).map((j) => source.write(j, statusOf("Pending"))));
  }
  const noopMs = performance.now() - t3;
  const noopWrites = store.writes - writesBefore;
  await source.close();
  await store.close();

  // Restart on the same state directory: generations and 10,000 stored statuses are read back.
  const store2 = new StateStore(join(root, "state"));
  const restarted = new DirectorySource({ dir, store: store2 });
  const t4 = performance.now();
  await restarted.start();
  const restartMs = performance.now() - t4;
  const sameGeneration = restarted.list("TrainingJob").every((j) => j.status !== undefined);
  await restarted.close();
  await store2.close();
  const usage = process.resourceUsage();
  console.log(
    JSON.stringify(
      {
        files: count,
        loaded,
        loadSeconds: +(loadMs / 1000).toFixed(2),
        perFileMs: +(loadMs / count).toFixed(3),
        rssBeforeMB: Math.round(rssBefore / 2 ** 20),
        rssAfterLoadMB: Math.round(rssAfter / 2 ** 20),
        heapUsedAfterLoadMB: Math.round(heapAfter / 2 ** 20),
        peakRssLoadMB: Math.round(peakAfterLoad / 1024),
        peakRssMB: Math.round(usage.maxRSS / 1024),
        cpuSeconds: +((usage.userCPUTime + usage.systemCPUTime) / 1e6).toFixed(2),
        restart: { seconds: +(restartMs / 1000).toFixed(2), statusesAttached: sameGeneration },
        statusWrites: { count: writesBefore, seconds: +(writeMs / 1000).toFixed(2) },
        noopStatusPass: { writes: noopWrites, seconds: +(noopMs / 1000).toFixed(2) },
        editToChangeMs: {
          p50: +(edits[10] ?? 0).toFixed(1),
          max: +(edits[edits.length - 1] ?? 0).toFixed(1),
        },
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(root, { recursive: true, force: true });
}

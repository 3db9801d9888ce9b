// Benchmark: workqueue throughput through the Controller with a no-op reconciler. 100,000 adds over
// 10,000 keys, in two shapes: one synchronous burst (maximal dedup: each key reconciled once) and
// 100 batches of 1,000 with the event loop turning between them (workers run while adds arrive).
// Then 10,000 delayed keys (one heap timer). Prints adds/s, reconciles, time and RSS.
// `node bench/workqueue.ts [--adds 100000] [--keys 10000] [--workers 4]` (Node >= 23.6; use
// node_modules/.bin/node where the machine's node is older).
import { parseArgs } from "node:util";
import { Subject } from "rxjs";
import type { ResourceKey } from "../src/api/resources.ts";
import { Controller } from "../src/controller/controller.ts";
import { awaitChange } from "../src/controller/reconcile.ts";

const { values } = parseArgs({
  options: {
    adds: { type: "string", default: "100000" },
    keys: { type: "string", default: "10000" },
    workers: { type: "string", default: "4" },
  },
});
const adds = Number(values.adds);
const keyCount = Number(values.keys);
const workers = Number(values.workers);

const keys = Array.from({ length: keyCount }, (_, i): ResourceKey => `TrainingJob/team-${i % 10}/job-${i}`);
// Every key `adds / keys` times, shuffled with a seeded generator (mulberry32) so runs compare.
let seed = 42;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
};
const order = Array.from({ length: adds }, (_, i) => i % keyCount);
for (let i = order.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1));
  [order[i], order[j]] = [order[j] as number, order[i] as number];
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const turn = () => new Promise((resolve) => setImmediate(resolve));

async function run(shape: "burst" | "batches", round: number): Promise<void> {
  const source = new Subject<ResourceKey>();
  let reconciles = 0;
  const controller = new Controller({
    name: `bench-${shape}-${round}`,
    concurrency: workers,
    resyncMs: 0,
    sources: [source],
    dispatch: async () => {
      reconciles++;
      return awaitChange;
    },
  });
  controller.start();
  const t0 = performance.now();
  if (shape === "burst") {
    for (const i of order) source.next(keys[i] as ResourceKey);
  } else {
    for (let start = 0; start < adds; start += 1_000) {
      for (let j = start; j < Math.min(adds, start + 1_000); j++)
        source.next(keys[order[j] as number] as ResourceKey);
      await turn();
    }
  }
  const tAdded = performance.now();
  await controller.queue.whenIdle();
  const tIdle = performance.now();
  await controller.stop();
  const addMs = tAdded - t0;
  const totalMs = tIdle - t0;
  console.log(
    [
      `${shape.padEnd(7)} round ${round}:`,
      `${adds.toLocaleString("en")} adds over ${keyCount.toLocaleString("en")} keys, ${workers} workers`,
      `adds ${Math.round((adds / totalMs) * 1000).toLocaleString("en")}/s end to end`,
      `(add phase ${addMs.toFixed(0)} ms)`,
      `reconciles ${reconciles.toLocaleString("en")}`,
      `(${Math.round((reconciles / totalMs) * 1000).toLocaleString("en")}/s)`,
      `time ${totalMs.toFixed(0)} ms`,
      `RSS ${mb(process.memoryUsage().rss)}`,
    ].join(" "),
  );
}

async function delayed(): Promise<void> {
  let reconciles = 0;
  const controller = new Controller({
    name: "bench-delayed",
    concurrency: workers,
    resyncMs: 0,
    dispatch: async () => {
      reconciles++;
      return awaitChange;
    },
  });
  controller.start();
  const t0 = performance.now();
  keys.forEach((key, i) => {
    controller.queue.addAfter(key, 50 + (i % 100));
  });
  const tAdded = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 160));
  await controller.queue.whenIdle();
  await controller.stop();
  console.log(
    `delayed: ${keyCount.toLocaleString("en")} addAfter in ${(tAdded - t0).toFixed(1)} ms` +
      ` (${Math.round((keyCount / (tAdded - t0)) * 1000).toLocaleString("en")}/s), ${reconciles.toLocaleString("en")} reconciled after their delays`,
  );
}

const rssBefore = process.memoryUsage().rss;
for (let round = 1; round <= 3; round++) await run("burst", round);
for (let round = 1; round <= 3; round++) await run("batches", round);
await delayed();
console.log(
  `RSS at start ${mb(rssBefore)}, at end ${mb(process.memoryUsage().rss)}, peak ${mb(process.resourceUsage().maxRSS * 1024)}` +
    ` (Node ${process.version})`,
);

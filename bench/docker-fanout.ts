// Fan-out on the Docker scheduler (directly, no controller): 200 short runs created at once, handled
// by 8 workers as the controller would (--concurrency 8): submit every run; then, woken by the event
// stream (a periodic re-check as a safety net only), observe each changed run and purge it once it
// has succeeded. Reports the total time and peak RSS, and fails when a container is left behind.
// Run: node bench/docker-fanout.ts [runs] [concurrency]
import { makeKey, type ResourceKey } from "../src/api/resources.ts";
import type { RunRequest } from "../src/scheduler/port.ts";
import { dockerKit, rssSampler } from "./docker-kit.ts";

const total = Number(process.argv[2] ?? 200);
const concurrency = Number(process.argv[3] ?? 8);
const kit = await dockerKit("fanout");
const rss = rssSampler();

const runs = new Map<ResourceKey, RunRequest>();
for (let i = 0; i < total; i++) {
  const run = kit.run(`fan-${i}`);
  runs.set(makeKey("TrainingJob", "bench", run.key.name), run);
}

// A deduplicating work queue of keys served by `concurrency` workers (the controller's guarantees).
const queue: ResourceKey[] = [];
const queued = new Set<ResourceKey>();
const pending = new Set<ResourceKey>(runs.keys());
let wake: (() => void) | undefined;
const enqueue = (key: ResourceKey): void => {
  if (!runs.has(key) || queued.has(key)) return;
  queued.add(key);
  queue.push(key);
  wake?.();
};
let observes = 0;
let submitted = 0;

async function reconcile(key: ResourceKey): Promise<void> {
  const run = runs.get(key) as RunRequest;
  observes += 1;
  const observed = await kit.scheduler.observe(run.key);
  if (!observed) {
    if (!pending.has(key)) return; // done and purged
    await kit.scheduler.submit(run);
    submitted += 1;
    return;
  }
  const replica = observed.replicas[0];
  if (replica?.state === "succeeded" || (replica?.state === "failed" && replica.exhausted)) {
    await kit.scheduler.purge(run.key);
    pending.delete(key);
    if (replica.state === "failed")
      console.error(`run ${key} failed: ${replica.reason} ${replica.message ?? ""}`);
  }
}

async function worker(): Promise<void> {
  while (pending.size > 0) {
    const key = queue.shift();
    if (key === undefined) {
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 200);
      });
      continue;
    }
    queued.delete(key);
    try {
      await reconcile(key);
    } catch (error) {
      console.error(`reconcile ${key} failed (requeued): ${error instanceof Error ? error.message : error}`);
      setTimeout(() => enqueue(key), 500);
    }
  }
}

const subscription = kit.scheduler.changes().subscribe(enqueue);
await new Promise((r) => setTimeout(r, 200)); // the stream connects
// Safety net only: a slow periodic resync of unfinished keys (the controller's jittered resync).
const resync = setInterval(() => {
  for (const key of pending) enqueue(key);
}, 10_000);
const started = performance.now();
const deadline = setTimeout(() => {
  console.error(`docker-fanout: not done after 10 minutes (${pending.size} pending)`);
  process.exit(1);
}, 600_000);
let left = -1;
try {
  for (const key of runs.keys()) enqueue(key);
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  left = await kit.left();
  console.log(`docker-fanout: ${total} runs, concurrency ${concurrency}, on ${kit.conn.target}`);
  console.log(`  total time: ${seconds.toFixed(1)} s (${((seconds * 1000) / total).toFixed(0)} ms per run)`);
  console.log(`  submits: ${submitted}, observes: ${observes} (${(observes / total).toFixed(1)} per run)`);
  console.log(`  peak RSS of this process: ${rss.stop()} MiB`);
  console.log(`  containers left behind: ${left}`);
} finally {
  clearTimeout(deadline);
  clearInterval(resync);
  subscription.unsubscribe();
  await kit.cleanup();
}
if (left !== 0) {
  console.error("docker-fanout: containers were left behind");
  process.exitCode = 1;
}
process.exit();

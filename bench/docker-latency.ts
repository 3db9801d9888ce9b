// Latency of the Docker scheduler (directly, no controller): (1) from submit() to the container
// running as observe() reports it, (2) from the container's exit (State.FinishedAt, the engine's
// clock on this host) to observe() reporting the run succeeded, woken by the event stream (not
// polling), (3) from a running container removed by hand to its replacement running (destroy event →
// observe → submit). Medians over 20 runs, one after another. Run: node bench/docker-latency.ts [runs]
import { makeKey } from "../src/api/resources.ts";
import { dockerKit, dockerTimeMs, fmt, median, percentile } from "./docker-kit.ts";

const runs = Number(process.argv[2] ?? 20);
const kit = await dockerKit("latency");
const toRunning: number[] = [];
const exitToObserved: number[] = [];
const driftRepaired: number[] = [];
// One subscription to the event stream for the whole benchmark, as the controller holds it.
const waiters = new Map<string, () => void>();
const subscription = kit.scheduler.changes().subscribe((key) => waiters.get(key)?.());
const nextChange = (key: string, ms: number): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no change of ${key} within ${ms} ms`)), ms);
    waiters.set(key, () => {
      clearTimeout(timer);
      waiters.delete(key);
      resolve();
    });
  });
await new Promise((r) => setTimeout(r, 200)); // the stream connects
try {
  for (let i = 0; i < runs; i++) {
    const run = kit.run(`lat-${i}`);
    const key = makeKey("TrainingJob", run.key.namespace, run.key.name);
    const t0 = performance.now();
    await kit.scheduler.submit(run);
    let observed = await kit.scheduler.observe(run.key);
    while (observed?.replicas[0]?.state === "pending") observed = await kit.scheduler.observe(run.key);
    toRunning.push(performance.now() - t0);
    if (observed?.replicas[0]?.state !== "running")
      throw new Error(`run ${i} not running: ${JSON.stringify(observed)}`);

    // Wait for the die event, then observe once (what the controller does on a change).
    for (let attempt = 0; attempt < 10; attempt++) {
      await nextChange(key, 10_000);
      observed = await kit.scheduler.observe(run.key);
      if (observed?.replicas[0]?.state === "succeeded") break;
    }
    const seenAt = Date.now();
    const replica = observed?.replicas[0];
    if (replica?.state !== "succeeded" || !replica.finishedAt)
      throw new Error(`run ${i} did not succeed: ${JSON.stringify(observed)}`);
    exitToObserved.push(seenAt - dockerTimeMs(replica.finishedAt));
    await kit.scheduler.purge(run.key);
  }
  // Drift: a running container removed by hand → event → observe() finds it gone → submit() again.
  for (let i = 0; i < runs; i++) {
    const run = kit.run(`drift-${i}`, {
      env: [
        { name: "EPOCHS", value: "600" },
        { name: "EPOCH_SECONDS", value: "0.1" },
        { name: "METRICS_PORT", value: "0" },
      ],
    });
    const key = makeKey("TrainingJob", run.key.namespace, run.key.name);
    await kit.scheduler.submit(run);
    const before = (await kit.scheduler.observe(run.key))?.replicas[0]?.id as string;
    const destroyed = nextChange(key, 10_000);
    const t0 = performance.now();
    await kit.conn.docker.getContainer(before).remove({ force: true });
    await destroyed;
    for (let attempt = 0; attempt < 20; attempt++) {
      const observed = await kit.scheduler.observe(run.key);
      if (observed === undefined) await kit.scheduler.submit(run);
      else if (observed.replicas[0]?.state === "running" && observed.replicas[0].id !== before) break;
      else await nextChange(key, 10_000);
    }
    driftRepaired.push(performance.now() - t0);
    await kit.scheduler.purge(run.key);
  }
  console.log(`docker-latency: ${runs} runs on ${kit.conn.target} (API ${kit.conn.apiVersion})`);
  console.log(
    `  submit → running:         median ${fmt(median(toRunning))}, p90 ${fmt(percentile(toRunning, 90))}`,
  );
  console.log(
    `  exit → observed Succeeded: median ${fmt(median(exitToObserved))}, p90 ${fmt(percentile(exitToObserved, 90))}`,
  );
  console.log(
    `  removed by hand → running again: median ${fmt(median(driftRepaired))}, p90 ${fmt(percentile(driftRepaired, 90))}`,
  );
  const left = await kit.left();
  console.log(`  containers left behind: ${left}`);
  if (left !== 0) process.exitCode = 1;
} finally {
  subscription.unsubscribe();
  await kit.cleanup();
}
process.exit();

// Benchmark: the queue gate alone (src/trainingqueue/gate.ts, no scheduler, no controller): --runs
// TrainingJobs over --queues StrictFIFO queues of --slots runs each. Every job asks once; then,
// until every run was admitted, the oldest admitted run finishes, releases its quota, and each job
// the gate wakes asks again (as its reconcile would). Prints admissions/s, release → next admission
// latency (p50, p99) and RSS. The gate follows the resource index's change feed (as the operator's
// does); --no-changes leaves it without one, so that it reads every job on each call.
// `node bench/queue-admission.ts [--runs 2000] [--queues 20] [--slots 4] [--no-changes]` (Node >= 23.6).
import { parseArgs } from "node:util";
import { EMPTY } from "rxjs";
import type { AnyResource, Kind, ResourceKey, TrainingJob, TrainingQueue } from "../src/api/resources.ts";
import { keyOf } from "../src/api/resources.ts";
import { QueueAdmission } from "../src/trainingqueue/gate.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "2000" },
    queues: { type: "string", default: "20" },
    slots: { type: "string", default: "4" },
    "no-changes": { type: "boolean", default: false },
  },
});
const runs = Number(values.runs);
const queueCount = Number(values.queues);
const slots = Number(values.slots);

const resources = new Map<ResourceKey, AnyResource>();
for (let q = 0; q < queueCount; q++) {
  const queue: TrainingQueue = {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingQueue",
    metadata: { name: `q${q}`, namespace: "bench", generation: 1 },
    spec: { quota: { runs: slots }, admission: "StrictFIFO", preemption: "Never" },
  };
  resources.set(keyOf(queue), queue);
}
const jobs: TrainingJob[] = [];
for (let i = 0; i < runs; i++) {
  const job = {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingJob",
    metadata: { name: `job-${i}`, namespace: "bench", generation: 1 },
    spec: {
      image: "trainer:1",
      queue: `q${i % queueCount}`,
      priority: 1 + (i % 100),
      replicas: 1,
      resources: { cpu: 500, memoryMB: 256, gpus: 0 },
    },
  } as unknown as TrainingJob;
  jobs.push(job);
  resources.set(keyOf(job), job);
}
const index = {
  get: (key: ResourceKey) => resources.get(key),
  list: (kind: Kind, namespace?: string) =>
    [...resources.values()].filter(
      (r) => r.kind === kind && (namespace === undefined || r.metadata.namespace === namespace),
    ),
};
// No spec changes during the run: the feed has nothing to say after the gate's first full read.
const gate = new QueueAdmission(index, values["no-changes"] ? {} : { changes: EMPTY });
const woken = new Set<ResourceKey>();
gate.changes().subscribe((key) => woken.add(key));

const running: TrainingJob[] = [];
const started = new Set<ResourceKey>();
let admissions = 0;
/** A job's reconcile: asks the gate; admitted (now, or earlier while another job asked), it starts. */
const ask = (job: TrainingJob): boolean => {
  if (started.has(keyOf(job)) || !gate.admit(job, new Date()).admitted) return false;
  started.add(keyOf(job));
  admissions++;
  running.push(job);
  return true;
};

const t0 = performance.now();
for (const job of jobs) ask(job);
const latencies: number[] = [];
while (admissions < runs && running.length > 0) {
  const done = running.shift() as TrainingJob;
  done.status = { phase: "Succeeded", observedGeneration: 1 };
  const released = performance.now();
  gate.release(keyOf(done));
  let first = true;
  while (woken.size > 0) {
    const keys = [...woken];
    woken.clear();
    for (const key of keys) {
      const job = resources.get(key);
      if (job?.kind !== "TrainingJob" || job.status?.phase === "Succeeded") continue;
      if (ask(job) && first) {
        latencies.push(performance.now() - released);
        first = false;
      }
    }
  }
}
const seconds = (performance.now() - t0) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
process.stdout.write(
  `queue-admission: ${admissions} of ${runs} runs admitted over ${queueCount} queues of ${slots} slots${values["no-changes"] ? " (no change feed)" : ""} in ${seconds.toFixed(2)} s` +
    ` (${Math.round(admissions / seconds)} admissions/s); release → next admission p50 ${pct(50).toFixed(2)} ms,` +
    ` p99 ${pct(99).toFixed(2)} ms; RSS ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB\n`,
);
if (admissions < runs) process.exitCode = 1;

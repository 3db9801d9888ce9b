// Benchmark: --runs queued TrainingJobs over --queues TrainingQueues (10 namespaces; each queue
// `quota: {runs: --slots}`, no cohort), the whole operator (`mlopsctl run` watching a directory of
// YAML files) in front of the Nomad double, each in its own process. The double runs allocations
// by itself (--auto-run): pending → running after --start-after-ms, complete --run-for-ms later, so
// a queue admits its next run only after one of its runs finished and the operator saw it. Those
// durations alone allow at most queues × slots / (start-after + run-for) admissions/s (printed).
// What is measured, all from the double's event stream (Job:* and Allocation:*), read by this
// process; a frame's time is when it reached this process (the same delay on both ends of a pair):
// - admissions/s: runs registered (a job's first JobRegistered event: the register POST reached
//   the double) from the first registration to the last, and from the operator's spawn.
// - release → next admission: for each queue, from an allocation turning complete (the double's
//   AllocationUpdated event; the operator learns it from the same stream) to the next registration
//   in that queue. So it includes the operator's observation of the finish, its release, the next
//   job's reconcile and its register POST: an upper bound on the gate's release → admission.
// - a slot's mean cycle (Little's law: slots / admissions per second) and, of it, each run's
//   registration → completion in the double; the rest is the operator's completion → next registration.
// - operator and double: CPU time and peak RSS (VmHWM) from /proc, start-up (reading the files)
//   included; the load average of the machine before and after.
//   node bench/queue-nomad.ts [--runs 10000] [--queues 100] [--slots 4] [--start-after-ms 50] [--run-for-ms 100]
//     [--timeout-s 600] [--web false] [--concurrency N] [--cpu-prof DIR]
//   --web false: the operator without its status page (fed by the state store as it writes);
//   --concurrency: the operator's `run --concurrency` (its default without);
//   --cpu-prof: the operator writes a V8 CPU profile (at exit) into DIR.
import { mkdirSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { previousCleanup } from "./lib/churn.ts";
import { main } from "./lib/cleanup.ts";
import { startDouble } from "./lib/doubles.ts";
import { NAMESPACES } from "./lib/jobs.ts";
import { metricSum, mlopsctlBuild, startOperator } from "./lib/operator.ts";
import { procUsage, threadCpuMs } from "./lib/proc.ts";
import { byThread, mb, ms, percentile, s, table, verdict } from "./lib/stats.ts";
import { tempDir, tempParent } from "./lib/temp.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "10000" },
    queues: { type: "string", default: "100" },
    slots: { type: "string", default: "4" },
    "start-after-ms": { type: "string", default: "50" },
    "run-for-ms": { type: "string", default: "100" },
    "timeout-s": { type: "string", default: "600" },
    "cpu-prof": { type: "string" },
    web: { type: "string", default: "true" },
    concurrency: { type: "string" },
  },
});
const runs = Number(values.runs);
const queueCount = Number(values.queues);
const slots = Number(values.slots);
const limitMs = Number(values["timeout-s"]) * 1000;

/** Run i: namespace team-(i % 10), queue q-k of that namespace, so each queue gets runs / queues runs. */
const perNamespace = Math.max(1, Math.ceil(queueCount / NAMESPACES.length));
const namespaceOf = (i: number) => NAMESPACES[i % NAMESPACES.length] as string;
const queueOf = (i: number) => `q-${Math.floor(i / NAMESPACES.length) % perNamespace}`;

function writeRepository(dir: string): void {
  for (const namespace of NAMESPACES) mkdirSync(join(dir, namespace), { recursive: true });
  for (let q = 0; q < queueCount; q++) {
    const namespace = namespaceOf(q);
    const name = `q-${Math.floor(q / NAMESPACES.length)}`;
    writeFileSync(
      join(dir, namespace, `queue-${name}.yaml`),
      `apiVersion: mlops.dev/v1alpha1\nkind: TrainingQueue\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec:\n  quota: {runs: ${slots}}\n`,
    );
  }
  for (let i = 0; i < runs; i++) {
    writeFileSync(
      join(dir, namespaceOf(i), `job-${i}.yaml`),
      `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: {name: job-${i}, namespace: ${namespaceOf(i)}}
spec:
  image: registry.local/train:1.0
  command: ["python", "train.py"]
  replicas: 1
  resources: {cpu: 100, memoryMB: 64, gpus: 0}
  queue: ${queueOf(i)}
  priority: ${1 + (i % 5) * 20}
`,
    );
  }
}

interface StreamEvent {
  readonly Topic: string;
  readonly Type: string;
  readonly Key: string;
  readonly Namespace: string;
  readonly Payload: {
    Job?: { Meta?: Record<string, string> };
    Allocation?: { ID: string; JobID: string; ClientStatus: string };
  };
}

/** Follows the double's Job and Allocation events; `onEvent` gets each with its arrival time (ms). */
function follow(address: string, onEvent: (event: StreamEvent, at: number) => void): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const url = `${address}/v1/event/stream?topic=Job:*&topic=Allocation:*&namespace=*`;
    const req = request(url, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`event stream: HTTP ${res.statusCode}`));
        res.resume();
        return;
      }
      let rest = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        const at = performance.now();
        const lines = (rest + chunk).split("\n");
        rest = lines.pop() ?? "";
        for (const line of lines) {
          if (!line.trim()) continue;
          for (const e of (JSON.parse(line) as { Events?: StreamEvent[] }).Events ?? []) onEvent(e, at);
        }
      });
      res.on("error", () => undefined);
      resolve(() => req.destroy());
    });
    req.on("error", reject);
    req.end();
  });
}

main("queue-nomad", limitMs + 180_000, async () => {
  const root = tempDir("queue-nomad");
  const dir = join(root, "repo");
  writeRepository(dir);
  const load0 = loadavg();
  const cleanup = previousCleanup(tempParent().spread);
  process.stdout.write(
    `queue-nomad: ${runs} queued runs over ${queueCount} queues of ${slots} runs, each running ${values["run-for-ms"]} ms; ` +
      `${values.web === "false" ? " (no status page)" : ""}; mlopsctl runs the ${mlopsctlBuild()}\n`,
  );
  const nomad = await startDouble("nomad", [
    ...NAMESPACES.flatMap((ns) => ["--namespace", ns]),
    "--auto-run",
    "--start-after-ms",
    String(values["start-after-ms"]),
    "--run-for-ms",
    String(values["run-for-ms"]),
  ]);

  const registered = new Map<string, number>(); // namespace/job id → first registration
  const queueOfJob = new Map<string, string>();
  const completed = new Set<string>(); // allocation ids
  const finishes = new Map<string, number[]>(); // queue → completion times not yet followed by a registration
  const perQueue = new Map<string, number>();
  const latencies: number[] = [];
  const lifetimes: number[] = []; // registration → completion of each run: the double's share of a slot's cycle
  let done: (() => void) | undefined;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const stop = await follow(nomad.address, (e, at) => {
    if (e.Topic === "Job" && e.Type === "JobRegistered") {
      const id = `${e.Namespace}/${e.Key}`;
      if (registered.has(id)) return;
      registered.set(id, at);
      const name = /\/([^/]+)$/.exec(e.Payload.Job?.Meta?.mlops_key ?? "")?.[1] ?? "";
      const queue = `${e.Namespace}/${queueOf(Number(name.replace("job-", "")))}`;
      queueOfJob.set(id, queue);
      const n = (perQueue.get(queue) ?? 0) + 1;
      perQueue.set(queue, n);
      const waiting = finishes.get(queue);
      if (n > slots && waiting && waiting.length > 0) latencies.push(at - (waiting.shift() as number));
    } else if (e.Topic === "Allocation" && e.Payload.Allocation?.ClientStatus === "complete") {
      const alloc = e.Payload.Allocation;
      if (completed.has(alloc.ID)) return;
      completed.add(alloc.ID);
      const queue = queueOfJob.get(`${e.Namespace}/${alloc.JobID}`);
      const since = registered.get(`${e.Namespace}/${alloc.JobID}`);
      if (since !== undefined) lifetimes.push(at - since);
      if (queue) finishes.set(queue, [...(finishes.get(queue) ?? []), at]);
      if (completed.size >= runs) done?.();
    }
  });

  const spawned = performance.now();
  const ownCpu = process.cpuUsage();
  const operator = await startOperator({
    dir,
    stateDir: join(root, "state"),
    nomadAddr: nomad.address,
    args: ["--web", String(values.web), ...(values.concurrency ? ["--concurrency", values.concurrency] : [])],
    ...(values["cpu-prof"]
      ? { env: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${values["cpu-prof"]}` } }
      : {}),
  });
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, limitMs).unref());
  await Promise.race([finished, timeout]);
  const end = performance.now();
  const op = operator.usage();
  const threads = threadCpuMs(operator.child.pid);
  const { user, system } = process.cpuUsage(ownCpu);
  const ownCpuMs = (user + system) / 1000;
  const double = procUsage(nomad.child.pid);
  const metrics = await fetch(`${operator.metrics}/metrics`).then(
    (r) => r.text(),
    () => "",
  );
  // One controller reconciles every kind: resources (jobs and queues) reconciled per run.
  const reconciles = metricSum(metrics, "controller_runtime_reconcile_total");
  stop();
  await operator.child.stop();
  await nomad.child.stop();
  const load1 = loadavg();

  const times = [...registered.values()].sort((a, b) => a - b);
  const first = times[0] ?? Number.NaN;
  const last = times.at(-1) ?? Number.NaN;
  const rate = (registered.size - 1) / ((last - first) / 1000);
  const fromSpawn = registered.size / ((last - spawned) / 1000);
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  // The first pairs wait behind the first look at every job (each one Queued): the later half alone.
  const later = latencies.slice(Math.floor(latencies.length / 2));
  const rows = [
    ["", "measured", "target"],
    ["runs registered / completed", `${registered.size} / ${completed.size} of ${runs}`, ""],
    [
      "admissions/s (first → last registration)",
      rate.toFixed(0),
      `≥ 1000 (${rate >= 1000 ? "ok" : "MISSED"}; Kueue ~43)`,
    ],
    ["admissions/s (operator spawn → last)", fromSpawn.toFixed(0), ""],
    [
      "admissions/s the run durations allow",
      (
        (queueCount * slots * 1000) /
        (Number(values["start-after-ms"]) + Number(values["run-for-ms"]))
      ).toFixed(0),
      "",
    ],
    ["first registration after spawn", s(first - spawned), ""],
    [
      `finish → next registration (${latencies.length} pairs)`,
      `p50 ${ms(p50)}, p99 ${ms(p99)}, max ${ms(Math.max(...latencies))}`,
      `p99 ≤ 100 ms (${verdict(p99, 100)})`,
    ],
    [
      "  the later half of the pairs",
      `p50 ${ms(percentile(later, 50))}, p99 ${ms(percentile(later, 99))}`,
      `p99 ≤ 100 ms (${verdict(percentile(later, 99), 100)})`,
    ],
    // Little's law: with every slot in use, a slot's mean cycle is slots / admissions per second. It
    // is the run's life in the double (registration → completion) plus the operator's time from the
    // completion to the next registration, so the latency target follows from the rate.
    [
      "a slot's mean cycle (slots / admissions/s)",
      ms((queueCount * slots * 1000) / rate),
      `${ms((queueCount * slots * 1000) / 1000)} at 1000/s`,
    ],
    [
      "  registration → completion (the double)",
      `mean ${ms(mean(lifetimes))}, p50 ${ms(percentile(lifetimes, 50))}, p99 ${ms(percentile(lifetimes, 99))}`,
      "",
    ],
    ["reconciles per run (jobs and queues)", (reconciles / runs).toFixed(2), ""],
    ["operator CPU / peak RSS", op ? `${s(op.cpuMs)} / ${mb(op.peakRssBytes)}` : "n/a", ""],
    // The main thread's share of the wall time tells whether it is the limit (near 100 %).
    [
      "  by thread",
      `${byThread(threads)}; main ${(((threads?.MainThread ?? Number.NaN) / (end - spawned)) * 100).toFixed(0)} % of the wall`,
      "",
    ],
    ["Nomad double CPU / peak RSS", double ? `${s(double.cpuMs)} / ${mb(double.peakRssBytes)}` : "n/a", ""],
    // This process follows the same event stream (every job and allocation event): on 2 cores it
    // competes with the operator as the double does.
    ["this benchmark's own CPU", s(ownCpuMs), ""],
    ["wall (spawn → last completion)", s(end - spawned), ""],
    ["the last benchmark's clean-up", cleanup, ""],
    [
      "load average before / after",
      `${load0.map((l) => l.toFixed(2)).join(" ")} / ${load1.map((l) => l.toFixed(2)).join(" ")}`,
      "",
    ],
  ];
  process.stdout.write(`${table(rows)}\n`);
  if (registered.size < runs || completed.size < runs) process.exitCode = 1;
});

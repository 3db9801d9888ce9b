// Outages of Nomad, Consul and Grafana (the doubles' fault modes) while `mlopsctl run` (watching,
// --resync 2s) holds 20 converged, running TrainingJobs: Nomad refusing connections, answering 500,
// hanging past every timeout, its event stream stalled while a job is purged by hand; Consul and
// Grafana refusing. For each: what /healthz, /metrics and /readyz answered (sampled every 250 ms),
// phases that flipped, jobs that disappeared, log lines per second, the operator's memory before
// and after, and how long it took to be ready and converged again (an edit made during the outage
// landed, an annotation missed was posted once, the purged job came back). Used by
// test/integration/outages.test.ts (seconds) and bench/outages.ts (a minute each).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ConsulDouble, startConsulDouble } from "../doubles/consul/index.ts";
import { type GrafanaDouble, startGrafanaDouble } from "../doubles/grafana/index.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { type OperatorProcess, startOperator } from "./operator-process.ts";
import { phases, watch } from "./watch.ts";

export interface OutageFigures {
  readonly name: string;
  readonly ms: number;
  readonly samples: number;
  /** Samples where /healthz or /metrics did not answer 200. */
  readonly healthFailures: number;
  /** Probes that took over a second or failed. */
  readonly slowProbes: number;
  /** /readyz said what was expected at least once during the outage. */
  readonly readyzSaid: boolean;
  readonly lastReadyz: string;
  readonly flips: readonly string[];
  readonly jobsLost: number;
  readonly logLinesPerSecond: number;
  readonly rssBeforeMb: number;
  readonly rssAfterMb: number;
  /** From the end of the outage to ready and converged again (undefined: not within the limit). */
  readonly recoveredMs: number | undefined;
}

interface OutageCase {
  readonly name: string;
  readonly start: () => Promise<void> | void;
  readonly end: () => Promise<void> | void;
  readonly ms: number;
  readonly readyz: { status: number; body: RegExp };
  readonly during?: () => Promise<void> | void;
  readonly recovered?: () => boolean;
  /** Resources whose phase may change (a job purged by hand is submitted again: Pending). */
  readonly mayFlip?: readonly string[];
  /**
   * Jobs a person purged during the outage: not counted as lost when the outage ends (the operator
   * deleted nothing; `recovered` checks that it registered them again afterwards).
   */
  readonly purgedByHand?: readonly string[];
}

const doc = (name: string, priority = 50) => `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: { name: ${name} }
spec:
  image: registry.example/train:1
  priority: ${priority}
`;

const OWNER = "outage-suite";

export async function until<T>(
  fn: () => T | undefined | Promise<T | undefined>,
  ms: number,
): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function metricsBase(op: OperatorProcess): Promise<string> {
  const line = await op.line(/"operator starting"/, 60_000);
  const address = line && /"metrics":"([^"]+)"/.exec(line)?.[1];
  if (!address) throw new Error(`operator did not start: ${op.lines.slice(-5).join(" | ")}`);
  return `http://${address}`;
}

export async function readyz(base: string): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2_000) });
    return { status: res.status, body: await res.text() };
  } catch {
    return { status: 0, body: "" };
  }
}

function rssMb(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** `short` for Nomad refusing or failing and Consul/Grafana; `hang` for Nomad hanging (≥ 10 s to be seen). */
export interface OutageDurations {
  readonly short: number;
  readonly hang: number;
}

export async function outageSuite(
  root: string,
  durations: OutageDurations,
  progress?: (line: string) => void,
): Promise<{ figures: OutageFigures[]; annotationsPerRun: number[]; jobs: number; exit: number | string }> {
  const consul: ConsulDouble = await startConsulDouble();
  const nomad: NomadDouble = await startNomadDouble({ heartbeatMs: 500 });
  const grafana: GrafanaDouble = await startGrafanaDouble();
  const dir = join(root, "jobs");
  const stateDir = join(root, "state");
  mkdirSync(dir, { recursive: true });
  const names = Array.from({ length: 20 }, (_, i) => `run-${i}`);
  for (const name of names) writeFileSync(join(dir, `${name}.yaml`), doc(name));
  const op = startOperator({
    dir,
    stateDir,
    nomadAddr: nomad.address,
    ownerId: OWNER,
    env: {
      CONSUL_HTTP_ADDR: consul.url,
      GRAFANA_URL: grafana.url,
      DOCKER_HOST: `unix://${join(root, "no-docker.sock")}`,
    },
    extra: ["--resync", "2s"],
  });
  const count = () =>
    [...nomad.state.jobs.values()].filter((r) => r.job.Meta?.mlops_owner_id === OWNER && !r.job.Stop).length;
  const priority = (name: string) => nomad.state.job("default", name)?.Priority;
  const annotated = (name: string) =>
    [...grafana.state.annotations.values()].filter((a) => a.tags.includes(`default/${name}`)).length;
  const figures: OutageFigures[] = [];
  try {
    const base = await metricsBase(op);
    if (!(await until(() => count() === 20, 30_000))) throw new Error("20 jobs were not registered");
    for (const name of names)
      for (const a of nomad.state.jobAllocs("default", name)) nomad.lifecycle.running(a.ID);
    const running = await until(() => {
      const p = phases(stateDir);
      return p.size === 20 && [...p.values()].every((x) => x === "Running");
    }, 30_000);
    if (!running) throw new Error("the 20 jobs did not reach Running");
    await until(async () => (await readyz(base)).status === 200, 30_000);
    const cases: OutageCase[] = [
      {
        name: "Nomad refuses connections",
        start: () => nomad.setOutage("refuse"),
        end: () => nomad.setOutage("none"),
        ms: durations.short,
        readyz: { status: 503, body: /not ready: nomad http:\/\/127\.0\.0\.1:\d+: NomadUnavailable/ },
        during: () => writeFileSync(join(dir, "run-1.yaml"), doc("run-1", 61)),
        recovered: () => priority("run-1") === 61,
      },
      {
        name: "Nomad answers 500",
        start: () => nomad.setOutage("error"),
        end: () => nomad.setOutage("none"),
        ms: durations.short,
        readyz: { status: 503, body: /not ready: nomad .*: (NomadError|NomadUnavailable)/ },
        during: () => writeFileSync(join(dir, "run-2.yaml"), doc("run-2", 62)),
        recovered: () => priority("run-2") === 62,
      },
      {
        name: "Nomad hangs past every timeout",
        start: () => nomad.setOutage("stall"),
        end: () => nomad.setOutage("none"),
        ms: durations.hang,
        readyz: { status: 503, body: /not ready: nomad .*: Unavailable: no answer within 4000 ms/ },
        during: () => writeFileSync(join(dir, "run-3.yaml"), doc("run-3", 63)),
        recovered: () => priority("run-3") === 63,
      },
      {
        name: "Nomad's event stream stalls; a job is purged by hand",
        start: () => nomad.stallStreams(),
        end: () => undefined,
        ms: Math.min(durations.short, 5_000),
        readyz: { status: 200, body: /^ok\n$/ },
        during: async () => {
          await fetch(`${nomad.address}/v1/job/run-4?purge=true`, { method: "DELETE" });
        },
        recovered: () => nomad.state.job("default", "run-4") !== undefined,
        mayFlip: ["run-4"],
        purgedByHand: ["run-4"],
      },
      {
        name: "Consul refuses connections",
        start: () => consul.setOutage("refuse"),
        end: () => consul.setOutage("none"),
        ms: Math.max(durations.short, 6_000),
        readyz: { status: 200, body: /degraded: consul http:\/\/127\.0\.0\.1:\d+: ConsulUnavailable/ },
      },
      {
        name: "Grafana refuses connections; a new job starts",
        start: () => grafana.setOutage("refuse"),
        end: () => grafana.setOutage("none"),
        ms: Math.max(durations.short, 6_000),
        readyz: { status: 200, body: /degraded: grafana http:\/\/127\.0\.0\.1:\d+: GrafanaUnavailable/ },
        during: () => writeFileSync(join(dir, "late.yaml"), doc("late")),
        recovered: () => annotated("late") === 1,
      },
    ];
    for (const c of cases) {
      const jobsBefore = count();
      const linesBefore = op.lines.length;
      const rssBeforeMb = rssMb(op.child.pid);
      const w = watch(base, stateDir);
      await c.start();
      await c.during?.();
      await new Promise((r) => setTimeout(r, c.ms));
      const { samples, flips } = await w.stop();
      const logLines = op.lines.length - linesBefore;
      const rssAfterMb = rssMb(op.child.pid);
      // A job purged by hand and not registered again yet is the person's doing, not a loss.
      const byHand = (c.purgedByHand ?? []).filter((name) => !nomad.state.job("default", name)).length;
      const jobsLost = Math.max(0, jobsBefore - byHand - count());
      await c.end();
      const ended = performance.now();
      // Back: ready, what changed during the outage landed, and every job Running again (the
      // allocations of a job submitted again are started, as a Nomad client would), so the next
      // outage starts from settled phases.
      const back = await until(async () => {
        for (const name of [...names, "late"]) {
          for (const a of nomad.state.jobAllocs("default", name)) {
            if (a.ClientStatus === "pending") nomad.lifecycle.running(a.ID);
          }
        }
        const r = await readyz(base);
        const settled = [...phases(stateDir).values()].every((p) => p === "Running");
        // A job purged by hand and registered again: its status must be the new job's (a status
        // written since), or its Running is the old one's and the new run's Pending lands in the
        // next outage's window as a flip.
        const caughtUp = (c.purgedByHand ?? []).every((name) => recordsCurrentJob(stateDir, nomad, name));
        return (
          r.status === 200 && !r.body.includes("degraded") && (c.recovered?.() ?? true) && settled && caughtUp
        );
      }, 60_000);
      const f: OutageFigures = {
        name: c.name,
        ms: c.ms,
        samples: samples.length,
        healthFailures: samples.filter((s) => s.healthz !== 200 || s.metrics !== 200).length,
        slowProbes: samples.filter((s) => s.slow > 0).length,
        readyzSaid: samples.some((s) => s.readyz === c.readyz.status && c.readyz.body.test(s.readyzBody)),
        lastReadyz: samples.at(-1)?.readyzBody ?? "",
        flips: flips.filter((x) => !c.mayFlip?.some((name) => x.startsWith(`${name}:`))),
        jobsLost,
        logLinesPerSecond: logLines / (c.ms / 1000),
        rssBeforeMb,
        rssAfterMb,
        recoveredMs: back ? performance.now() - ended : undefined,
      };
      figures.push(f);
      progress?.(
        `${c.name}: ${f.samples} samples, /readyz ${f.readyzSaid ? "said so" : "did NOT say so"}, ${f.flips.length} flips, ${f.jobsLost} jobs lost, ${f.logLinesPerSecond.toFixed(1)} log lines/s, RSS ${f.rssBeforeMb.toFixed(0)} → ${f.rssAfterMb.toFixed(0)} MB, back in ${f.recoveredMs === undefined ? "—" : `${(f.recoveredMs / 1000).toFixed(1)} s`}`,
      );
    }
    return {
      figures,
      annotationsPerRun: [...names, "late"].map(annotated),
      jobs: count(),
      exit: await op.stop(),
    };
  } finally {
    await op.stop();
    await nomad.close();
    await consul.close();
    await grafana.close();
  }
}

/** Whether `name`'s status file records the Nomad job registered now (its CreateIndex leads the recorded version). */
function recordsCurrentJob(stateDir: string, nomad: NomadDouble, name: string): boolean {
  const job = nomad.state.job("default", name);
  if (!job) return false;
  try {
    const path = join(stateDir, "status", "trainingjob", "default", `${name}.json`);
    const record = JSON.parse(readFileSync(path, "utf8")) as {
      status?: { run?: { schedulerVersion?: string } };
    };
    return record.status?.run?.schedulerVersion?.startsWith(`${job.CreateIndex}:`) === true;
  } catch {
    return false;
  }
}

// The operator as users run it, `bin/mlopsctl run`, in a child process: with --once (measured from
// spawn to exit, CPU time and peak RSS from getrusage at exit via usage-report.ts) or long-running
// (measured from /proc while it lives; its /metrics address read from the start-up log line).
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { stripTypeScriptTypes } from "node:module";
import { join } from "node:path";
import { type Child, startChild } from "./child.ts";
import { type ProcUsage, procUsage } from "./proc.ts";
import { tempDir } from "./temp.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const MLOPSCTL = join(ROOT, "bin", "mlopsctl");
const REPORT = join(ROOT, "bench", "lib", "usage-report.ts");
let reportJs: string | undefined;

/**
 * usage-report.ts as JavaScript, written once per benchmark: preloading the .ts made Node load its
 * type stripper (a WebAssembly build of SWC) into the measured operator and its state I/O worker,
 * which run from dist/ and never load it otherwise: ~15 MB of an empty operator's peak RSS and ~30 MB
 * of a 10,000-job converge's (docs/benchmarks.md, round 22).
 */
function reportModule(): string {
  if (!reportJs) {
    reportJs = join(tempDir("usage-report"), "usage-report.mjs");
    writeFileSync(reportJs, stripTypeScriptTypes(readFileSync(REPORT, "utf8")));
  }
  return reportJs;
}

export interface OperatorSetup {
  readonly dir: string;
  readonly stateDir: string;
  readonly nomadAddr: string;
  /** Extra environment (CONSUL_HTTP_ADDR, GRAFANA_URL, DOCKER_HOST, ...). */
  readonly env?: NodeJS.ProcessEnv;
  readonly ownerId?: string;
  /** More `mlopsctl run` options (e.g. `--web false`). */
  readonly args?: readonly string[];
  /** A watching operator's process joins this cgroup (its directory) before it starts (test/cli/memory-cgroup.ts). */
  readonly cgroup?: string;
}

/** The highest RSS a measured process sampled, by kind of page and V8 space (bench/lib/usage-report.ts). */
export interface PeakRssParts {
  readonly rssBytes: number;
  readonly fileBytes: number;
  readonly anonBytes: number;
  readonly spaces: Readonly<Record<string, { readonly size: number; readonly used: number }>>;
  readonly external: number;
  readonly arrayBuffers: number;
}

/**
 * The peak's parts as one line: file-backed and anonymous pages; of the anonymous, each V8 space
 * (committed / used; code and trusted together) and the rest outside V8's heap.
 */
export function peakRssLine(p: PeakRssParts | undefined): string {
  if (!p) return "n/a";
  const mb = (bytes: number) => (bytes / 1048576).toFixed(1);
  const sized = (names: readonly string[]) => {
    let size = 0;
    let used = 0;
    for (const name of names) {
      size += p.spaces[name]?.size ?? 0;
      used += p.spaces[name]?.used ?? 0;
    }
    return `${mb(size)}/${mb(used)}`;
  };
  const heap = Object.values(p.spaces).reduce((sum, s) => sum + s.size, 0);
  return (
    `${mb(p.rssBytes)} MB: file-backed ${mb(p.fileBytes)}, anonymous ${mb(p.anonBytes)} = V8's heap ${mb(heap)} ` +
    `(committed/used: young ${sized(["new", "new_large_object"])}, old ${sized(["old"])}, large objects ${sized(["large_object"])}, ` +
    `code, trusted, read-only ${sized(["code", "code_large_object", "trusted", "trusted_large_object", "shared", "shared_large_object", "read_only"])}) ` +
    `+ ${mb(p.anonBytes - heap)} outside it (ArrayBuffers ${mb(p.arrayBuffers)})`
  );
}

export interface OnceResult {
  readonly code: number | string;
  readonly wallMs: number;
  /** From getrusage at exit (undefined if the process died before writing it). */
  readonly usage:
    | {
        cpuMs: number;
        userMs: number;
        systemMs: number;
        peakRssBytes: number;
        /** CPU by thread name (MainThread, V8Worker, state-io, libuv-worker), from /proc. */
        threadCpuMs?: Record<string, number>;
        /** Peaks of process.memoryUsage() sampled every 50 ms. */
        peakMemoryBytes?: { heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
        /** What is live after a full collection at exit. */
        afterGcBytes?: { heapUsed: number; arrayBuffers: number };
        /** The highest RSS sampled (every 50 ms) and what it was made of (usage-report.ts). */
        atPeakRss?: PeakRssParts;
      }
    | undefined;
  readonly summary: string | undefined;
  readonly stderr: readonly string[];
}

function args(setup: OperatorSetup, extra: readonly string[]): string[] {
  return [
    "run",
    "--dir",
    setup.dir,
    "--state-dir",
    setup.stateDir,
    "--nomad-addr",
    setup.nomadAddr,
    "--scheduler",
    "nomad",
    "--log-format",
    "json",
    "--owner-id",
    setup.ownerId ?? "bench",
    ...(setup.args ?? []),
    ...extra,
  ];
}

function env(setup: OperatorSetup, usageFile: string | undefined): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, ...setup.env };
  delete base.NOMAD_ADDR;
  if (!setup.env?.CONSUL_HTTP_ADDR) delete base.CONSUL_HTTP_ADDR;
  if (!setup.env?.GRAFANA_URL) delete base.GRAFANA_URL;
  if (usageFile) {
    base.NODE_OPTIONS = `${base.NODE_OPTIONS ?? ""} --import=${reportModule()}`.trim();
    base.MLOPS_BENCH_USAGE_FILE = usageFile;
  }
  return base;
}

/** `mlopsctl run --once` until it exits (bounded by --timeout and a kill after `limitMs`). */
export async function runOnce(setup: OperatorSetup, usageFile: string, limitMs: number): Promise<OnceResult> {
  const t0 = performance.now();
  const child = startChild(MLOPSCTL, args(setup, ["--once", "--timeout", `${Math.round(limitMs / 1000)}s`]), {
    env: env(setup, usageFile),
    name: "mlopsctl run --once",
  });
  const killer = setTimeout(() => void child.stop(), limitMs + 15_000);
  const code = await child.exited;
  clearTimeout(killer);
  const wallMs = performance.now() - t0;
  let usage: OnceResult["usage"];
  try {
    usage = JSON.parse(readFileSync(usageFile, "utf8")) as OnceResult["usage"];
  } catch {
    usage = undefined;
  }
  const summary = child.stdout.find((line) => line.includes('"converged once"'));
  return { code, wallMs, usage, summary, stderr: child.stderr.slice(-10) };
}

export interface RunningOperator {
  readonly child: Child;
  readonly metrics: string;
  usage(): ProcUsage | undefined;
}

/** `mlopsctl run` (watching), ready once it logs its start-up line and answers /readyz. */
export async function startOperator(setup: OperatorSetup): Promise<RunningOperator> {
  const argv = args(setup, ["--metrics-addr", "127.0.0.1:0"]);
  // In a cgroup: the shell moves itself there, then becomes the launcher (the same pid).
  const [command, commandArgs] = setup.cgroup
    ? [
        "sh",
        ["-c", 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', "sh", setup.cgroup, MLOPSCTL, ...argv],
      ]
    : [MLOPSCTL, argv];
  const child = startChild(command, commandArgs, { env: env(setup, undefined), name: "mlopsctl run" });
  const line = await child.waitForLine(/"operator starting"/, 60_000);
  const metrics = /"metrics":"([^"]+)"/.exec(line)?.[1];
  if (!metrics) throw new Error(`no metrics address in the start-up line: ${line}`);
  return {
    child,
    metrics: metrics.startsWith("http") ? metrics : `http://${metrics}`,
    usage: () => procUsage(child.pid),
  };
}

/** Sum of a metric's samples in Prometheus text (all label sets), 0 when absent. */
export function metricSum(text: string, name: string): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`))
      total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

/** Which code bin/mlopsctl runs (its own rule): dist/ while dist/.stamp is newer than src/ and crds/. */
export function mlopsctlBuild(): string {
  const stamp = join(ROOT, "dist", ".stamp");
  let since: number;
  try {
    since = statSync(stamp).mtimeMs;
  } catch {
    return "TypeScript sources (src/; no bundled build)";
  }
  const newer = (dir: string): boolean =>
    readdirSync(dir, { withFileTypes: true }).some((e) =>
      e.isDirectory() ? newer(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs > since,
    );
  return newer(join(ROOT, "src")) || newer(join(ROOT, "crds"))
    ? "TypeScript sources (src/; dist/ is older than the sources)"
    : "bundled build (dist/)";
}

/**
 * Waits until the operator is ready (its directory read), has reconciled something, its queue is
 * empty and no reconcile ran for `quietMs` (bounded). Without the first two, the seconds spent
 * reading 10,000 files look quiet too.
 */
export async function settled(operator: RunningOperator, quietMs: number, limit: number): Promise<number> {
  const t0 = performance.now();
  let last = -1;
  let since = performance.now();
  while (performance.now() - t0 < limit) {
    const ready = await fetch(`${operator.metrics}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    const text = await fetch(`${operator.metrics}/metrics`).then((r) => r.text());
    const done = metricSum(text, "controller_runtime_reconcile_total");
    const busy = metricSum(text, "workqueue_depth") + metricSum(text, "controller_runtime_active_workers");
    if (!ready || done === 0 || done !== last || busy > 0) {
      last = done;
      since = performance.now();
    } else if (performance.now() - since >= quietMs) return performance.now() - t0;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the operator did not settle within ${limit} ms`);
}

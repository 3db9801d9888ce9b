// Benchmark: how long mlopsctl's read-only commands take, start to exit, and their peak RSS
// (`/usr/bin/time -f "%e %M"`), each run --runs times (median and range printed): `version`,
// `validate` of three files, and `get tj` / `describe tj` over a state directory holding --count
// TrainingJobs' status records (written by one `mlopsctl run --once` on the Nomad double); and
// `run --once --scheduler nomad` over the three files (a fresh Nomad double; converged by the first
// run, so the others measure the operator's start-up, one no-op reconcile each, and shutdown).
//   node bench/cli-startup.ts [--count 10000] [--runs 5] [--timeout-s 300]
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { main } from "./lib/cleanup.ts";
import { converge, convergedLine } from "./lib/converge.ts";
import { writeJobs } from "./lib/jobs.ts";
import { startNomad } from "./lib/nomad.ts";
import { mlopsctlBuild } from "./lib/operator.ts";
import { table } from "./lib/stats.ts";
import { tempDir } from "./lib/temp.ts";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "10000" },
    runs: { type: "string", default: "5" },
    "timeout-s": { type: "string", default: "300" },
  },
});
const count = Number(values.count);
const runs = Number(values.runs);
const limitMs = Number(values["timeout-s"]) * 1000;
const MLOPSCTL = new URL("../bin/mlopsctl", import.meta.url).pathname;

interface Sample {
  readonly wallS: number;
  readonly rssMb: number;
  readonly code: number | null;
}

function once(args: readonly string[]): Sample {
  const r = spawnSync("/usr/bin/time", ["-f", "%e %M", MLOPSCTL, ...args], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    timeout: 60_000,
  });
  const last = r.stderr.trim().split("\n").at(-1) ?? "";
  const [wall, rssKb] = last.split(" ").map(Number);
  return { wallS: wall ?? Number.NaN, rssMb: (rssKb ?? Number.NaN) / 1024, code: r.status };
}

function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function summary(samples: readonly Sample[], pick: (s: Sample) => number, digits: number): string {
  const values = samples.map(pick);
  return `${medianOf(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`;
}

main("cli-startup", limitMs + runs * 4 * 60_000 + 120_000, async () => {
  const root = tempDir("cli-startup");
  process.stdout.write(`cli-startup: ${runs} runs per command; get/describe over ${count} TrainingJobs\n`);
  process.stdout.write(`mlopsctl runs the ${mlopsctlBuild()}\n`);
  const three = join(root, "three");
  mkdirSync(three);
  writeJobs(three, 3);
  const c = await converge({ root, count, limitMs });
  await c.nomad.child.stop();
  process.stdout.write(`${convergedLine(c, count)}\n`);
  const state = c.setup.stateDir;
  const first = c.refs[0];
  const nomad = await startNomad();
  // The gates (issue 12): version ≤ 0.1 s, get tj at 10,000 ≤ 0.5 s (medians).
  const commands: [string, string[], number | undefined][] = [
    ["version", ["version"], 0.1],
    ["validate (3 files)", ["validate", three], undefined],
    [`get tj -A (${count})`, ["get", "tj", "-A", "--state-dir", state], count === 10_000 ? 0.5 : undefined],
    [
      `describe tj (of ${count})`,
      ["describe", "tj", first?.name ?? "", "-n", first?.namespace ?? "", "--state-dir", state],
      undefined,
    ],
    [
      "run --once (3 files, nomad)",
      [
        ...["run", "--once", "--dir", three, "--state-dir", join(root, "run-state")],
        ...["--scheduler", "nomad", "--nomad-addr", nomad.address, "--metrics-addr", "127.0.0.1:0"],
      ],
      undefined,
    ],
  ];
  const rows = [
    ["command", "wall s, median (range)", "peak RSS MB, median (range)", "exit", "target (median)"],
  ];
  for (const [name, args, targetS] of commands) {
    const samples = Array.from({ length: runs }, () => once(args));
    const median = medianOf(samples.map((s) => s.wallS));
    rows.push([
      name,
      summary(samples, (s) => s.wallS, 2),
      summary(samples, (s) => s.rssMb, 0),
      [...new Set(samples.map((s) => s.code))].join(","),
      targetS === undefined ? "" : `≤ ${targetS.toFixed(2)} s (${median <= targetS ? "met" : "MISSED"})`,
    ]);
  }
  await nomad.child.stop();
  process.stdout.write(`${table(rows)}\n`);
});

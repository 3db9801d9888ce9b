// Runs the benchmarks under bench/ one after another, each in its own child process with a time
// limit, printing each one's output as it comes and a summary at the end. A benchmark is any
// bench/*.ts other than this file and the helpers other benchmarks import (bench/lib/, *-kit.ts, ...).
//   npm run bench                                  every benchmark
//   npm run bench -- converge-nomad edit-latency   only these (names without .ts)
//   npm run bench -- converge-nomad -- --count 1000   arguments after a second `--` go to each one
//   npm run bench -- --limit-s 600                 per-benchmark time limit (default 900 s)
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const BENCH = new URL(".", import.meta.url).pathname;
const argv = process.argv.slice(2);
const split = argv.indexOf("--");
const own = split >= 0 ? argv.slice(0, split) : argv;
const passThrough = split >= 0 ? argv.slice(split + 1) : [];
let limitS = 900;
const names: string[] = [];
for (let i = 0; i < own.length; i++) {
  const arg = own[i] as string;
  if (arg === "--limit-s") limitS = Number(own[++i]);
  else if (arg.startsWith("--limit-s=")) limitS = Number(arg.slice("--limit-s=".length));
  else if (arg === "--list") names.push("--list");
  else names.push(arg.replace(/\.ts$/, "").replace(/^bench\//, ""));
}
if (!Number.isFinite(limitS) || limitS <= 0) {
  process.stderr.write("bench: --limit-s must be a positive number of seconds\n");
  process.exit(2);
}

/** bench/*.ts except run.ts and the files other bench files import (shared helpers). */
function discover(): string[] {
  const files = readdirSync(BENCH).filter((f) => f.endsWith(".ts") && f !== "run.ts");
  const imported = new Set<string>();
  for (const file of files) {
    const text = readFileSync(join(BENCH, file), "utf8");
    for (const m of text.matchAll(/from\s+"\.\/([\w.-]+\.ts)"/g)) imported.add(m[1] as string);
  }
  return files
    .filter((f) => !imported.has(f))
    .map((f) => f.slice(0, -3))
    .sort();
}

const all = discover();
if (names.includes("--list")) {
  process.stdout.write(`${all.join("\n")}\n`);
  process.exit(0);
}
const unknown = names.filter((n) => !all.includes(n));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown benchmark(s) ${unknown.join(", ")}; known: ${all.join(", ")}\n`);
  process.exit(2);
}
const selected = names.length > 0 ? names : all;

function runOne(name: string): Promise<{ code: number | string; ms: number }> {
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    ["--disable-warning=ExperimentalWarning", join(BENCH, `${name}.ts`), ...passThrough],
    {
      stdio: ["ignore", "inherit", "inherit"],
    },
  );
  let timedOut = false;
  const term = setTimeout(() => {
    timedOut = true;
    process.stderr.write(`bench: ${name} passed its ${limitS} s limit; stopping it\n`);
    child.kill("SIGTERM");
  }, limitS * 1000);
  const kill = setTimeout(() => child.kill("SIGKILL"), limitS * 1000 + 30_000);
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  return new Promise((resolve) => {
    child.once("error", (error) => {
      clearTimeout(term);
      clearTimeout(kill);
      process.off("SIGINT", forward);
      process.off("SIGTERM", forward);
      process.stderr.write(`bench: could not run ${name}: ${error.message}\n`);
      resolve({ code: "could not start", ms: performance.now() - t0 });
    });
    child.once("exit", (code, signal) => {
      clearTimeout(term);
      clearTimeout(kill);
      process.off("SIGINT", forward);
      process.off("SIGTERM", forward);
      resolve({ code: timedOut ? "time limit" : (code ?? signal ?? "unknown"), ms: performance.now() - t0 });
    });
  });
}

const results: { name: string; code: number | string; ms: number }[] = [];
for (const name of selected) {
  process.stdout.write(`\n=== ${name} (limit ${limitS} s) ${new Date().toISOString()}\n`);
  results.push({ name, ...(await runOne(name)) });
}
process.stdout.write("\n=== summary\n");
for (const r of results) {
  process.stdout.write(
    `${r.name.padEnd(20)} ${r.code === 0 ? "ok" : `FAILED (${r.code})`}  ${(r.ms / 1000).toFixed(1)} s\n`,
  );
}
process.exitCode = results.every((r) => r.code === 0) ? 0 : 1;

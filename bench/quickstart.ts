// The newcomer's first command, timed: `make run` on a fresh copy of examples/quickstart (its own
// state directory and context home), from the command to the first `Running → Succeeded`, with the
// time to the first phase line beside it. Run it on a machine prepared as new (the Docker engine,
// busybox-static and node_modules absent) for the README's "from a new machine" figure, and again
// for the warm figure.   node bench/quickstart.ts
import { spawn } from "node:child_process";
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = new URL("../", import.meta.url).pathname;
const work = await mkdtemp(join(tmpdir(), "mlops-quickstart-bench-"));
const dir = join(work, "quickstart");
await cp(join(ROOT, "examples/quickstart"), dir, { recursive: true });
// Its own checkpoint volume, removed at the end.
const file = join(dir, "trainingjob.yaml");
const volume = `bench-quickstart-${process.pid}`;
const yaml = (await readFile(file, "utf8")).replace("name: mnist-quickstart-checkpoints", `name: ${volume}`);
const { writeFile } = await import("node:fs/promises");
await writeFile(file, yaml);
const env = { ...process.env, XDG_STATE_HOME: join(work, "xdg"), MLOPS_LOG_LEVEL: "info" };

const started = performance.now();
const child = spawn("make", ["--no-print-directory", "run", `QUICKSTART=${dir}`], {
  cwd: ROOT,
  env,
  stdio: ["ignore", "pipe", "pipe"],
  detached: true,
});
const marks: Record<string, number> = {};
let out = "";
const watch = (chunk: Buffer) => {
  out += chunk.toString();
  const at = (performance.now() - started) / 1000;
  if (marks.operator === undefined && /operator starting/.test(out)) marks.operator = at;
  if (marks.submitted === undefined && /New → Pending|New → Running/.test(out)) marks.submitted = at;
  if (marks.running === undefined && /→ Running/.test(out)) marks.running = at;
  if (marks.succeeded === undefined && /Running → Succeeded/.test(out)) {
    marks.succeeded = at;
    process.kill(-(child.pid as number), "SIGINT");
  }
};
child.stdout.on("data", watch);
child.stderr.on("data", watch);
const limit = setTimeout(() => process.kill(-(child.pid as number), "SIGKILL"), 600_000);
const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
clearTimeout(limit);

const context = JSON.parse(
  await readFile(join(work, "xdg", "mlopsctl", "contexts", "quickstart.json"), "utf8").catch(() => "{}"),
) as { ownerId?: string };
if (context.ownerId) {
  const { execFileSync } = await import("node:child_process");
  const ids = execFileSync("docker", ["ps", "-aq", "--filter", `label=mlops.dev/owner-id=${context.ownerId}`])
    .toString()
    .split("\n")
    .filter(Boolean);
  if (ids.length > 0) execFileSync("docker", ["rm", "-f", ...ids], { stdio: "ignore" });
  execFileSync("docker", ["volume", "rm", "-f", volume], { stdio: "ignore" });
}
await rm(work, { recursive: true, force: true });

const s = (v: number | undefined) => (v === undefined ? "—" : `${v.toFixed(1)} s`);
process.stdout.write(
  [
    `make run → operator starting: ${s(marks.operator)}`,
    `make run → first phase line:   ${s(marks.submitted)}`,
    `make run → Running:            ${s(marks.running)}`,
    `make run → Succeeded:          ${s(marks.succeeded)}   (the run itself trains 12 × 1 s)`,
    "",
  ].join("\n"),
);
if (marks.succeeded === undefined) {
  process.stderr.write(`quickstart: no Succeeded (make exited ${code}); its output:\n${out.slice(-4000)}\n`);
  process.exit(1);
}

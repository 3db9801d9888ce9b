// Both sources of a run's progress, against real servers on loopback: the example trainer
// (images/trainer/train.sh under busybox sh, its metrics served by busybox httpd) scraped directly,
// and Debian's Prometheus scraping the same endpoint with the labels the stack's scrape configs give
// (mlops_namespace, mlops_name) and answering the operator's query.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrometheusClient } from "../../src/clients/prometheus/index.ts";
import { PrometheusProgressReader, ScrapeProgressReader } from "../../src/trainingjob/adapters/index.ts";
import type { ProgressTarget, RunProgress } from "../../src/trainingjob/ports.ts";

const has = (cmd: string, args: string[]) => {
  try {
    execFileSync(cmd, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};
const available = has("busybox", ["true"]) && has("prometheus", ["--version"]);

let dir = "";
let trainer: ChildProcess | undefined;
let prometheus: ChildProcess | undefined;
let metricsPort = 0;
let promUrl = "";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let error: unknown;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (ok(last)) return last;
    } catch (e) {
      error = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms; last: ${JSON.stringify(last)} ${String(error ?? "")}`);
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

const target = (): ProgressTarget => ({
  key: "TrainingJob/default/train",
  namespace: "default",
  name: "train",
  addresses: [`127.0.0.1:${metricsPort}`],
  path: "/metrics",
});

beforeAll(async () => {
  if (!available) return;
  dir = await mkdtemp(join(tmpdir(), "mlops-progress-"));
  // The shipped script, with its web root and listen address moved to this test's own.
  const script = (await readFile("images/trainer/train.sh", "utf8"))
    .replace("WWW=/tmp/www", `WWW=${join(dir, "www")}`)
    .replace('-p "$METRICS_PORT"', '-p "127.0.0.1:$METRICS_PORT"');
  await writeFile(join(dir, "train.sh"), script);
  await symlink(
    execFileSync("sh", ["-c", "command -v busybox"], { encoding: "utf8" }).trim(),
    join(dir, "httpd"),
  );
  metricsPort = await freePort();
  trainer = spawn("busybox", ["sh", join(dir, "train.sh")], {
    env: {
      PATH: `${dir}:${process.env.PATH ?? ""}`,
      EPOCHS: "200",
      EPOCH_SECONDS: "0.5",
      METRICS_PORT: String(metricsPort),
    },
    stdio: "ignore",
    detached: true, // its own process group: the script and its httpd end together
  });
  await until(
    () => fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.status),
    (s) => s === 200,
  );

  const config = [
    "global:",
    "  scrape_interval: 1s",
    "  scrape_timeout: 900ms",
    "scrape_configs:",
    "  - job_name: mlops-trainingjobs",
    "    static_configs:",
    `      - targets: ["127.0.0.1:${metricsPort}"]`,
    "        labels: { mlops_namespace: default, mlops_name: train }",
    "",
  ].join("\n");
  await writeFile(join(dir, "prometheus.yml"), config);
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn(
    "prometheus",
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: "ignore" },
  );
  await until(
    () => fetch(`${promUrl}/-/ready`).then((r) => r.status),
    (s) => s === 200,
  );
});

afterAll(async () => {
  await stop(prometheus);
  if (trainer?.pid !== undefined) {
    try {
      process.kill(-trainer.pid, "SIGTERM"); // the trainer's group: the script and its httpd
    } catch {
      // already gone
    }
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!available)("a run's progress from its two sources", () => {
  it("a direct scrape of the example trainer reads a ratio that moves, with its epoch", async () => {
    const reader = new ScrapeProgressReader();
    const first = (await reader.read(target())) as RunProgress;
    expect(first.ratio).toBeGreaterThanOrEqual(0);
    expect(first.ratio).toBeLessThan(1);
    const later = await until(
      () => reader.read(target()),
      (p) => (p?.epoch ?? 0) > (first.epoch ?? 0),
    );
    expect(later?.ratio).toBeCloseTo((later?.epoch ?? 0) / 200, 4);
  });

  it("the stack's Prometheus answers the same progress for the run's labels, and nothing for another run", async () => {
    const reader = new PrometheusProgressReader(promUrl);
    const progress = await until(
      () => reader.read(target()),
      (p) => (p?.epoch ?? 0) > 0,
    );
    expect(progress?.ratio).toBeCloseTo((progress?.epoch ?? 0) / 200, 4);
    expect(await reader.read({ ...target(), name: "other" })).toBeUndefined();
  });

  it("a query Prometheus rejects is a PrometheusQueryError naming the expression", async () => {
    await expect(new PrometheusClient(promUrl).query("min by (")).rejects.toMatchObject({
      reason: "PrometheusQueryError",
      message: expect.stringContaining("min by ("),
    });
  });

  it("an endpoint nobody listens on is MetricsUnavailable", async () => {
    const closed = await freePort();
    await expect(
      new ScrapeProgressReader().read({ ...target(), addresses: [`127.0.0.1:${closed}`] }),
    ).rejects.toMatchObject({ reason: "MetricsUnavailable" });
  });
});

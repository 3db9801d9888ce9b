// Real Prometheus (Debian's binary, on loopback) scrapes the example trainer's metrics from its
// container (by container IP: a project-owned container on this machine) and the operator's own
// registry (src/observability/metrics.ts, served here on a loopback port as `mlopsctl run` serves it).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registry } from "../../src/observability/metrics.ts";
import { dockerHarness, env, type Harness } from "./docker-harness.ts";

let h: Harness;
let prometheus: ChildProcess | undefined;
let operatorMetrics: Server | undefined;
let dir = "";
let promUrl = "";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

async function query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as {
    status: string;
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  expect(body.status).toBe("success");
  return body.data.result;
}

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (ok(last)) return last;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

beforeAll(async () => {
  h = await dockerHarness("prom");
  const run = h.run("scrape", {
    env: env({ EPOCHS: 600, EPOCH_SECONDS: 0.2 }),
    metrics: { port: 8000, path: "/metrics" },
  });
  await h.scheduler.submit(run);
  await h.until(run.key, (o) => o?.replicas[0]?.state === "running");
  const [container] = await h.containersOf(run.key);
  const info = await h.conn.docker.getContainer(container?.Id as string).inspect();
  const ip = Object.values(info.NetworkSettings.Networks)[0]?.IPAddress ?? "";
  expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

  operatorMetrics = createServer((_req, res) => {
    registry
      .metrics()
      .then((text) => res.writeHead(200, { "content-type": registry.contentType }).end(text))
      .catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((r) => operatorMetrics?.listen(0, "127.0.0.1", r));
  const operatorPort = (operatorMetrics.address() as AddressInfo).port;

  dir = await mkdtemp(join(tmpdir(), "mlops-prom-"));
  const config = [
    "global:",
    "  scrape_interval: 1s",
    "  scrape_timeout: 900ms",
    "scrape_configs:",
    "  - job_name: trainer",
    "    metrics_path: /metrics",
    "    static_configs:",
    `      - targets: ["${ip}:8000"]`,
    "  - job_name: mlops-operator",
    "    static_configs:",
    `      - targets: ["127.0.0.1:${operatorPort}"]`,
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
  if (prometheus?.pid !== undefined && prometheus.exitCode === null) {
    const exited = new Promise((r) => prometheus?.once("exit", r));
    prometheus.kill("SIGTERM");
    await exited;
  }
  await new Promise((r) => (operatorMetrics ? operatorMetrics.close(r) : r(undefined)));
  await h?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("Prometheus scrapes the example trainer and the operator", () => {
  it("finds the trainer up, with its training_loss and advancing epochs", async () => {
    const up = await until(
      () => query('up{job="trainer"}'),
      (r) => r[0]?.value[1] === "1",
    );
    expect(up).toHaveLength(1);
    const loss = await until(
      () => query('training_loss{job="trainer"}'),
      (r) => r.length === 1,
    );
    const value = Number(loss[0]?.value[1]);
    expect(value).toBeGreaterThan(0);
    expect(value).toBeLessThanOrEqual(2.5);
    const epochs = await until(
      () =>
        query(
          'max_over_time(training_epoch{job="trainer"}[1m]) - min_over_time(training_epoch{job="trainer"}[1m])',
        ),
      (r) => Number(r[0]?.value[1] ?? 0) > 0,
    );
    expect(Number(epochs[0]?.value[1])).toBeGreaterThan(0);
  });

  it("finds the operator's own metrics up", async () => {
    await until(
      () => query('up{job="mlops-operator"}'),
      (r) => r[0]?.value[1] === "1",
    );
    const series = await query('process_resident_memory_bytes{job="mlops-operator"}');
    expect(Number(series[0]?.value[1])).toBeGreaterThan(0);
  });
});

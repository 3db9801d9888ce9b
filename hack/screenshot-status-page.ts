// Renders the status page over a few sample resources and photographs it with Debian's chromium
// driven by playwright-core (headless, never a downloaded browser), the whole page at a fixed
// 1400-pixel-wide viewport once its script is live: docs/images/status-page.png and
// status-page-detail.png.
//   bash hack/ensure-chromium.sh && node hack/screenshot-status-page.ts
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import type { TrainingJob, TrainingJobStatus } from "../src/api/resources.ts";
import { webRowFormat } from "../src/cli/web-format.ts";
import { OperatorServer } from "../src/observability/server.ts";
import { EventLog, StateStore } from "../src/sources/state/index.ts";
import { registerWeb, StatusView } from "../src/web/index.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const stateDir = mkdtempSync(join(tmpdir(), "mlops-screenshot-"));
let runs = 0;
const minutes = (n: number) => new Date(Date.now() - n * 60_000).toISOString();

function job(name: string, namespace: string, age: number): TrainingJob {
  return {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingJob",
    metadata: { name, namespace, generation: 1, creationTimestamp: minutes(age) },
    spec: {
      image: `registry.local/${name}:1`,
      replicas: 2,
      resources: { cpu: 2000, memoryMB: 8192, gpus: 1 },
      priority: 50,
      backoffLimit: 3,
      suspend: false,
      env: [{ name: "WANDB_API_KEY", value: "secret" }],
    },
  };
}

function status(
  phase: NonNullable<TrainingJobStatus["phase"]>,
  reason: string,
  message: string,
  ratio?: number,
): TrainingJobStatus {
  const ready = phase === "Running" || phase === "Succeeded" ? "True" : "False";
  return {
    phase,
    observedGeneration: 1,
    conditions: [
      {
        type: "Ready",
        status: ready,
        reason,
        message,
        lastTransitionTime: minutes(3),
        observedGeneration: 1,
      },
    ],
    ...(ratio === undefined ? {} : { progress: { ratio } }),
    run: {
      id: `run-${++runs}`,
      scheduler: "nomad",
      target: "http://127.0.0.1:4646",
      startTime: minutes(30),
      replicas: [
        {
          index: 0,
          node: "gpu-a",
          state: phase === "Failed" ? "failed" : "running",
          ...(phase === "Failed" ? { exitCode: 137, reason: "OOMKilled" } : {}),
        },
        { index: 1, node: "gpu-b", state: "running" },
      ],
    },
  };
}

const store = new StateStore(stateDir);
await store.writeStatus(
  job("bert-finetune", "nlp", 95),
  status("Running", "Running", "every replica of attempt 1 runs", 0.62),
);
await store.writeStatus(
  job("mnist", "default", 240),
  status("Succeeded", "Succeeded", "every replica exited 0", 1),
);
await store.writeStatus(
  job("resnet50", "vision", 48),
  status("Failed", "OOMKilled", "replica 0 was killed: out of memory (limit 8192 MB)"),
);
await store.writeStatus(
  job("vit-large", "vision", 2),
  status("Pending", "InsufficientResources", "no node has 1 free GPU"),
);
await store.writeStatus(
  {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "MlopsStack",
    metadata: { name: "platform", namespace: "default", generation: 1, creationTimestamp: minutes(600) },
    spec: {},
  } as never,
  {
    observedGeneration: 1,
    conditions: [
      {
        type: "Ready",
        status: "True",
        reason: "Ready",
        message: "every component is healthy",
        lastTransitionTime: minutes(590),
      },
    ],
  } as never,
);
await store.close();
const events = new EventLog(stateDir);
events.event("TrainingJob/vision/resnet50", "Normal", "Submitted", "registered with Nomad as resnet50");
events.event(
  "TrainingJob/vision/resnet50",
  "Warning",
  "OOMKilled",
  "replica 0 was killed: out of memory (limit 8192 MB)",
);
await events.close();

const view = new StatusView(store); // closed: the records are on disk, read at start
await view.start();
const server = new OperatorServer({ address: "127.0.0.1:0" });
registerWeb(server, view, webRowFormat, { grafanaUrl: "http://127.0.0.1:3000/d/mlops-training-runs" });
const base = `http://${await server.listen()}`;
// CI and this script run as root, where chromium's sandbox cannot start.
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  timeout: 30_000,
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 300 } });
  page.setDefaultTimeout(15_000);
  for (const [file, path] of [
    ["status-page.png", "/"],
    ["status-page-detail.png", "/resource?kind=TrainingJob&namespace=vision&name=resnet50"],
  ] as const) {
    await page.goto(`${base}${path}`, { waitUntil: "load" });
    // The list page says "live" once its script follows the event stream.
    if (path === "/") await page.locator("#live", { hasText: /^live$/ }).waitFor();
    const out = join(ROOT, "docs", "images", file);
    await page.screenshot({ path: out, fullPage: true });
    process.stdout.write(`wrote ${out}\n`);
  }
} finally {
  await browser.close();
  view.close();
  await server.close();
  rmSync(stateDir, { recursive: true, force: true });
}

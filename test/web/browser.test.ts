// The status page in a real browser: Debian's headless chromium (skipped where it is not installed;
// `bash hack/lib/ensure-deb.sh chromium`). The page loads, its script opens the event stream, a job
// changes phase in the state directory, and the row shows the new phase without a reload.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { TrainingJob, TrainingJobStatus } from "../../src/api/resources.ts";
import { webRowFormat } from "../../src/cli/web-format.ts";
import { OperatorServer } from "../../src/observability/server.ts";
import { StateStore } from "../../src/sources/state/index.ts";
import { registerWeb, StatusView } from "../../src/web/index.ts";

const CHROMIUM = "/usr/bin/chromium";

const job: TrainingJob = {
  apiVersion: "mlops.dev/v1alpha1",
  kind: "TrainingJob",
  metadata: { name: "mnist", namespace: "default", generation: 1 },
  spec: {
    image: "registry.local/mnist:1",
    replicas: 1,
    resources: { cpu: 500, memoryMB: 1024, gpus: 0 },
    priority: 50,
    backoffLimit: 3,
    suspend: false,
  },
};

const status = (phase: NonNullable<TrainingJobStatus["phase"]>, reason: string): TrainingJobStatus => ({
  phase,
  observedGeneration: 1,
  conditions: [
    {
      type: "Ready",
      status: phase === "Pending" ? "False" : "True",
      reason,
      message: `<i>${reason}</i>`,
      lastTransitionTime: new Date().toISOString(),
    },
  ],
});

describe.skipIf(!existsSync(CHROMIUM))("the status page in chromium", () => {
  it("shows a phase change without a reload", { timeout: 60_000 }, async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "mlops-browser-test-"));
    const store = new StateStore(stateDir);
    await store.writeStatus(job, status("Pending", "Submitted"));
    await store.flush();
    const view = new StatusView(stateDir);
    await view.start();
    const server = new OperatorServer({ address: "127.0.0.1:0" });
    registerWeb(server, view, webRowFormat);
    const base = `http://${await server.listen()}`;
    try {
      const dom = new Promise<string>((resolve, reject) =>
        execFile(
          CHROMIUM,
          [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=15000",
            "--dump-dom",
            `${base}/`,
          ],
          { timeout: 45_000 },
          (error, stdout) => (error ? reject(error) : resolve(stdout)),
        ),
      );
      // Once the page's script has opened the event stream, the job moves on.
      const deadline = Date.now() + 30_000;
      while (view.subscribers === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(view.subscribers).toBe(1);
      await store.writeStatus(job, status("Running", "Running"));
      await store.flush();
      // chromium dumps the page once the network is idle: end the event stream after the change got out.
      await new Promise((r) => setTimeout(r, 1000));
      await server.close();
      const html = await dom;
      const row = html.split("\n").find((l) => l.includes('data-key="TrainingJob/default/mnist"')) ?? html;
      expect(row).toContain(
        "<td>Running</td><td>True</td><td>Running</td><td>&lt;i&gt;Running&lt;/i&gt;</td>",
      );
      expect(html).not.toContain("added or removed");
    } finally {
      view.close();
      await server.close();
      await store.close();
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});

// The status page's in-memory view follows the state directory as the operator writes it: every
// rewrite of a record (each one a new file renamed over the old), a record in a namespace folder
// made after the view started, and a forgotten record, each within a moment and not at the next
// rescan (set an hour away here).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeKey, type TrainingJob, type TrainingJobStatus } from "../../src/api/resources.ts";
import { type RecordEvent, StateStore } from "../../src/sources/state/index.ts";
import { StatusView } from "../../src/web/index.ts";
import { until } from "../polling.ts";

let stateDir = "";
let store: StateStore;
let view: StatusView;
let seen: string[] = [];

const job = (name: string, namespace = "default"): TrainingJob => ({
  apiVersion: "mlops.dev/v1alpha1",
  kind: "TrainingJob",
  metadata: { name, namespace, generation: 1 },
  spec: {
    image: "registry.local/mnist:1",
    replicas: 1,
    resources: { cpu: 500, memoryMB: 1024, gpus: 0 },
    priority: 50,
    backoffLimit: 3,
    suspend: false,
  },
});

const status = (phase: NonNullable<TrainingJobStatus["phase"]>): TrainingJobStatus => ({
  phase,
  observedGeneration: 1,
  conditions: [],
});

async function write(resource: TrainingJob, phase: NonNullable<TrainingJobStatus["phase"]>): Promise<void> {
  await store.writeStatus(resource, status(phase));
  await store.flush();
}

const describeEvent = (e: RecordEvent) =>
  `${e.type} ${e.record.metadata.namespace}/${e.record.metadata.name} ${String(e.record.status?.phase)}`;

beforeEach(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "mlops-status-view-"));
  store = new StateStore(stateDir);
  await write(job("mnist"), "Pending");
  view = new StatusView(stateDir, { rescanMs: 3_600_000 });
  await view.start();
  seen = [];
  view.subscribe((e) => seen.push(describeEvent(e)));
});

afterEach(async () => {
  view.close();
  await store.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe("the status view", () => {
  it("sees every rewrite of one record, in order, however close together", { timeout: 10_000 }, async () => {
    const phases = ["Running", "Succeeded", "Pending", "Running", "Failed"] as const;
    for (const phase of phases) {
      await write(job("mnist"), phase);
      await until(
        `${phase} in the view`,
        () => view.get(makeKey("TrainingJob", "default", "mnist"))?.status?.phase === phase,
        3_000,
      );
    }
    expect(seen).toEqual(phases.map((p) => `MODIFIED default/mnist ${p}`));
    // Back to back, without waiting between the writes: the last one is what the view holds.
    await write(job("mnist"), "Running");
    await write(job("mnist"), "Succeeded");
    await until("Succeeded in the view", () => view.list()[0]?.status?.phase === "Succeeded", 3_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(view.list()[0]?.status?.phase).toBe("Succeeded");
    expect(seen.at(-1)).toBe("MODIFIED default/mnist Succeeded");
  });

  it("sees a record in a namespace folder made after it started, and its rewrites", {
    timeout: 10_000,
  }, async () => {
    await write(job("bert", "nlp"), "Pending");
    await until("bert added", () => seen.includes("ADDED nlp/bert Pending"), 3_000);
    await write(job("bert", "nlp"), "Running");
    await until("bert modified", () => seen.includes("MODIFIED nlp/bert Running"), 3_000);
    expect(view.list().map((r) => r.metadata.name)).toEqual(["mnist", "bert"]);
  });

  it("sees a forgotten record go", { timeout: 10_000 }, async () => {
    await store.forget(makeKey("TrainingJob", "default", "mnist"));
    await store.flush();
    await until("mnist deleted", () => seen.includes("DELETED default/mnist Pending"), 3_000);
    expect(view.list()).toEqual([]);
  });
});

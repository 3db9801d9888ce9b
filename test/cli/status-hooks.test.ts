// The observed status writer reports each phase transition once, against the phase the source holds
// before the write: through the directory source (a rerun with nothing changed reports none) and the
// Kubernetes source (a second write from one reconcile, holding the object from before the first).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Subject } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import type { AnyResource, MlopsStackStatus, ResourceKey, TrainingJob } from "../../src/api/resources.ts";
import { observedWriter } from "../../src/cli/status-hooks.ts";
import type { Source } from "../../src/controller/source.ts";
import { DirectorySource } from "../../src/sources/directory/index.ts";
import { StateStore } from "../../src/sources/state/index.ts";
import { type KubeHarness, startHarness, trainingJob, until } from "../doubles/kubernetes/index.ts";

let root = "";
let harness: KubeHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  if (root) rmSync(root, { recursive: true, force: true });
  root = "";
});

const JOB = `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: { name: a, namespace: ml }
spec: { image: trainer:1 }
---
apiVersion: mlops.dev/v1alpha1
kind: MlopsStack
metadata: { name: platform, namespace: ml }
spec: {}
`;
const A: ResourceKey = "TrainingJob/ml/a";
const STACK: ResourceKey = "MlopsStack/ml/platform";

function observed(source: Source) {
  const transitions: string[] = [];
  const writer = observedWriter(source, new Subject(), (r, from, to) =>
    transitions.push(`${r.kind} ${r.metadata.name}: ${from ?? "-"} -> ${to ?? "-"}`),
  );
  return { writer, transitions };
}

const condition = (type: string, status: "True" | "False") => ({
  type,
  status,
  reason: type,
  message: "",
  lastTransitionTime: "2026-01-01T00:00:00Z",
});

/** A directory source over root/resources; closeAll closes its state store too (written out). */
async function directory(stateDir: string) {
  const store = new StateStore(stateDir);
  const source = new DirectorySource({ dir: join(root, "resources"), store, once: true });
  await source.start();
  return Object.assign(source, {
    async closeAll() {
      await source.close();
      await store.close();
    },
  });
}

describe("observedWriter", () => {
  it("through the directory source: once per transition, none for a rerun that writes the same", async () => {
    root = mkdtempSync(join(tmpdir(), "mlops-status-hooks-"));
    mkdirSync(join(root, "resources"));
    writeFileSync(join(root, "resources", "job.yaml"), JOB);
    const state = join(root, "state");
    const first = await directory(state);
    const { writer, transitions } = observed(first);
    const job = () => first.get(A) as TrainingJob;
    await writer.write(job(), { phase: "Pending" });
    await writer.write(job(), { phase: "Pending" });
    // A reconcile holding the object it looked up writes twice: the second compares with the first.
    const held = job();
    await writer.write(held, { phase: "Running" });
    await writer.write(held, { phase: "Succeeded" });
    const stack = first.get(STACK) as AnyResource;
    await writer.write(stack, { conditions: [condition("Ready", "False")] } as MlopsStackStatus as never);
    await writer.write(stack, { conditions: [condition("Ready", "True")] } as MlopsStackStatus as never);
    expect(transitions).toEqual([
      "TrainingJob a: - -> Pending",
      "TrainingJob a: Pending -> Running",
      "TrainingJob a: Running -> Succeeded",
      "MlopsStack platform: - -> Progressing",
      "MlopsStack platform: Progressing -> Ready",
    ]);
    await first.closeAll();

    // A rerun over the same state: the phases read back; writing them again is no transition.
    const second = await directory(state);
    const again = observed(second);
    await again.writer.write(second.get(A) as TrainingJob, { phase: "Succeeded" });
    await again.writer.write(
      second.get(STACK) as AnyResource,
      {
        conditions: [condition("Ready", "True")],
      } as MlopsStackStatus as never,
    );
    expect(again.transitions).toEqual([]);
    await second.closeAll();
  });

  it("through the Kubernetes source: a second write holding the object from before the first is compared with the first", async () => {
    harness = await startHarness();
    const h = harness;
    h.double.create(trainingJob("a"));
    await until("the job listed", () => h.source.get(A) !== undefined);
    const { writer, transitions } = observed(h.source);
    const held = h.source.get(A) as TrainingJob;
    await writer.write(held, { phase: "Pending" });
    // `held` still has no status: the table holds the write's answer.
    expect(held.status).toBeUndefined();
    await writer.write(held, { phase: "Pending" });
    await writer.write(held, { phase: "Running" });
    expect(transitions).toEqual(["TrainingJob a: - -> Pending", "TrainingJob a: Pending -> Running"]);
  });
});

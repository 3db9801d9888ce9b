// mlops_trainingjobs from a directory source, as the composition root wires it
// (observeResources(source.list)): a restarted operator counts the jobs whose statuses it reads back
// before writing any, and a job whose file is removed and finalized leaves the count.
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import type { TrainingJob } from "../../src/api/resources.ts";
import { observeResources, registry } from "../../src/observability/metrics.ts";
import { DirectorySource } from "../../src/sources/directory/index.ts";
import { StateStore } from "../../src/sources/state/index.ts";

let root = "";
afterEach(() => {
  observeResources(() => []);
  if (root) rmSync(root, { recursive: true, force: true });
  root = "";
});

const job = (name: string, namespace: string) => `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: { name: ${name}, namespace: ${namespace} }
spec: { image: trainer:1 }
`;

const counts = async () =>
  (await registry.getSingleMetricAsString("mlops_trainingjobs"))
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .sort();

async function open(dir: string, state: string) {
  const store = new StateStore(state);
  const source = new DirectorySource({ dir, store, once: true });
  await source.start();
  observeResources((kind) => source.list(kind));
  return {
    source,
    async close() {
      await source.close();
      await store.close();
    },
  };
}

it("counts what a restarted operator reads back, before it writes anything; a finalized job leaves", async () => {
  root = mkdtempSync(join(tmpdir(), "mlops-tj-gauge-"));
  const dir = join(root, "resources");
  const state = join(root, "state");
  mkdirSync(dir);
  for (const [name, namespace] of [
    ["a", "team-x"],
    ["b", "team-x"],
    ["c", "team-y"],
  ] as const)
    writeFileSync(join(dir, `${name}.yaml`), job(name, namespace));

  const first = await open(dir, state);
  const phases = { a: "Running", b: "Succeeded", c: "Running" } as const;
  for (const [name, phase] of Object.entries(phases)) {
    const namespace = name === "c" ? "team-y" : "team-x";
    const resource = first.source.get(`TrainingJob/${namespace}/${name}`) as TrainingJob;
    await first.source.write(resource, { phase });
  }
  await first.close();

  const second = await open(dir, state);
  expect(await counts()).toEqual([
    'mlops_trainingjobs{namespace="team-x",phase="Running"} 1',
    'mlops_trainingjobs{namespace="team-x",phase="Succeeded"} 1',
    'mlops_trainingjobs{namespace="team-y",phase="Running"} 1',
  ]);
  // b's file removed and the job finalized (the dispatcher's forget): its status goes.
  unlinkSync(join(dir, "b.yaml"));
  await second.source.forget("TrainingJob/team-x/b");
  await second.close();

  const third = await open(dir, state);
  expect(await counts()).toEqual([
    'mlops_trainingjobs{namespace="team-x",phase="Running"} 1',
    'mlops_trainingjobs{namespace="team-y",phase="Running"} 1',
  ]);
  await third.close();
});

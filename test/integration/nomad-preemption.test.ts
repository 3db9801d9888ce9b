// Queue preemption on Nomad, end to end over the Nomad double: a high-priority run arrives into a
// full TrainingQueue with `preemption: LowerPriority`; the low-priority run's Nomad job is stopped
// (deregistered without purge, as suspend does), the high one is registered, and when it finishes the
// preempted run is registered again as its next attempt and succeeds. The preemption is an infra
// attempt charged to no budget, and mlops_queue_preemptions_total counts it.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeKey, type TrainingJob } from "../../src/api/resources.ts";
import type { Operator } from "../../src/cli/compose.ts";
import type { NomadJob } from "../../src/clients/nomad/types.ts";
import { queuePreemptions } from "../../src/observability/metrics.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { until } from "../polling.ts";
import { buildNomadOperator } from "./nomad-operator-options.ts";

let nomad: NomadDouble;
let dir = "";
const owner = `it-preempt-${process.pid}`;

const queueYaml = `apiVersion: mlops.dev/v1alpha1
kind: TrainingQueue
metadata: { name: team }
spec:
  quota: { runs: 1 }
  preemption: LowerPriority
`;
const jobYaml = (name: string, priority: number) => `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: { name: ${name} }
spec:
  image: registry.example/trainer:1
  queue: team
  priority: ${priority}
  backoffLimit: 0
  retryPolicy: { infraRetryLimit: 0 }
  resources: { cpu: 100, memoryMB: 64, gpus: 0 }
`;

function resource(op: Operator, name: string): TrainingJob | undefined {
  return op.source.get(makeKey("TrainingJob", "default", name)) as TrainingJob | undefined;
}

async function registered(name: string): Promise<NomadJob | undefined> {
  const response = await fetch(`${nomad.address}/v1/job/${name}`);
  return response.ok ? ((await response.json()) as NomadJob) : undefined;
}

async function preemptions(): Promise<number> {
  const metric = await queuePreemptions.get();
  return metric.values.find((v) => v.labels.namespace === "default" && v.labels.queue === "team")?.value ?? 0;
}

beforeAll(async () => {
  nomad = await startNomadDouble({ heartbeatMs: 200 });
  dir = await mkdtemp(join(tmpdir(), "mlops-preempt-"));
});

afterAll(async () => {
  await nomad?.close();
  await rm(dir, { recursive: true, force: true });
  await rm(`${dir}-state`, { recursive: true, force: true });
});

describe("queue preemption on Nomad", () => {
  it("a high-priority run preempts a low one, which is admitted again after it and succeeds", async () => {
    await writeFile(join(dir, "queue.yaml"), queueYaml);
    await writeFile(join(dir, "low.yaml"), jobYaml("low", 10));
    const op = await buildNomadOperator({
      dir,
      ownerId: owner,
      nomadAddr: nomad.address,
    });
    const before = await preemptions();
    try {
      await op.source.start();
      op.controller.start();
      const first = await until("low's first allocation", () => nomad.allocations("default", "low")[0]);
      nomad.lifecycle.running(first.ID);
      await until("low Running", () => resource(op, "low")?.status?.phase === "Running" || undefined);

      await writeFile(join(dir, "high.yaml"), jobYaml("high", 90));
      const high = await until("high's allocation", () => nomad.allocations("default", "high")[0]);
      // Never both at once: low's job was stopped before high's was registered.
      expect((await registered("low"))?.Stop).toBe(true);
      expect(nomad.allocations("default", "low").map((a) => [a.DesiredStatus, a.ClientStatus])).toEqual([
        ["stop", "complete"],
      ]);
      const low = await until("low Queued, Preempted", () => {
        const job = resource(op, "low");
        const admitted = job?.status?.conditions?.find((c) => c.type === "Admitted");
        return job?.status?.phase === "Queued" && admitted?.reason === "Preempted" ? job : undefined;
      });
      expect(low.status?.run?.attempts).toEqual([
        expect.objectContaining({
          attempt: 1,
          reason: "Preempted",
          counted: "infra",
          preemptedBy: "default/high",
        }),
      ]);
      expect(await preemptions()).toBe(before + 1);
      expect(nomad.allocations("default", "low")).toHaveLength(1); // nothing of low registered again yet

      nomad.lifecycle.running(high.ID);
      nomad.lifecycle.exit(high.ID, { exitCode: 0 });
      await until("high Succeeded", () => resource(op, "high")?.status?.phase === "Succeeded" || undefined);
      const second = await until("low's second allocation", () =>
        nomad.allocations("default", "low").find((a) => a.ID !== first.ID),
      );
      const job = await registered("low");
      expect(job?.Stop).toBe(false);
      expect(job?.TaskGroups[0]?.Tasks[0]?.Env?.MLOPS_ATTEMPT).toBe("2");
      nomad.lifecycle.running(second.ID);
      nomad.lifecycle.exit(second.ID, { exitCode: 0 });
      const done = await until("low Succeeded", () =>
        resource(op, "low")?.status?.phase === "Succeeded" ? resource(op, "low") : undefined,
      );
      // backoffLimit 0 and infraRetryLimit 0: the preemption was charged to neither.
      expect(done.status?.run?.attempts?.map((a) => [a.attempt, a.reason, a.counted])).toEqual([
        [1, "Preempted", "infra"],
        [2, "Completed", undefined],
      ]);
      expect(await preemptions()).toBe(before + 1);
    } finally {
      await op.controller.stop();
      await op.close();
    }
  });
});

// The TrainingQueue document as the sources read it (schema defaults, clear errors), its metrics
// and its printer columns.
import { afterEach, describe, expect, it } from "vitest";
import type { AnyResource, TrainingQueue } from "../../src/api/resources.ts";
import { validateDocument } from "../../src/api/validate.ts";
import { columnsOf } from "../../src/cli/columns.ts";
import { observeResources, registry } from "../../src/observability/metrics.ts";

const doc = (spec: unknown) => ({
  apiVersion: "mlops.dev/v1alpha1",
  kind: "TrainingQueue",
  metadata: { name: "gpus", namespace: "team-a" },
  spec,
});

describe("TrainingQueue documents", () => {
  it("defaults admission to StrictFIFO and preemption to Never; an absent spec is a queue without quota", () => {
    const result = validateDocument(doc({ quota: { gpus: 4 }, cohort: "lab" }));
    expect(result.ok && result.resource.spec).toEqual({
      quota: { gpus: 4 },
      cohort: "lab",
      admission: "StrictFIFO",
      preemption: "Never",
    });
    const bare = validateDocument({ ...doc(undefined), spec: undefined });
    expect(bare.ok).toBe(true);
  });

  it("takes a borrowing limit within a cohort, and says why not without one", () => {
    expect(validateDocument(doc({ cohort: "lab", borrowingLimit: { gpus: 2 } })).ok).toBe(true);
    const alone = validateDocument(doc({ borrowingLimit: { gpus: 2 } }));
    expect(alone.ok ? [] : alone.issues.map((i) => `${i.path.join(".")}: ${i.message}`)).toEqual([
      "spec.borrowingLimit: needs spec.cohort: a queue borrows only from the other queues of its cohort",
    ]);
  });

  it.each([
    [{ quota: { gpus: -1 } }, "spec.quota.gpus"],
    [{ quota: { tpus: 1 } }, "spec.quota.tpus"],
    [{ admission: "Fair" }, "spec.admission"],
    [{ borrowingLimit: { cpu: "lots" } }, "spec.borrowingLimit.cpu"],
    [{ quota: { gpus: 2 }, borrowingLimit: { gpus: 2 } }, "spec.borrowingLimit"],
  ])("rejects %j naming %s", (spec, path) => {
    const result = validateDocument(doc(spec));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((i) => i.path.join("."))).toContain(path);
  });
});

const queue: TrainingQueue = {
  apiVersion: "mlops.dev/v1alpha1",
  kind: "TrainingQueue",
  metadata: { name: "gpus", namespace: "team-a", generation: 1 },
  spec: { quota: { gpus: 4, runs: 10 }, admission: "StrictFIFO", preemption: "Never" },
  status: { quota: { gpus: 4, runs: 10 }, usage: { gpus: 3, runs: 2 }, pending: 5, admitted: 2 },
};

describe("TrainingQueue metrics and columns", () => {
  afterEach(() => observeResources(() => []));

  it("exports pending, admitted, usage and quota per queue from the resources", async () => {
    observeResources((kind) => (kind === "TrainingQueue" ? [queue as AnyResource] : []));
    const text = (await registry.metrics()).split("\n");
    expect(text).toContain('mlops_queue_pending_runs{namespace="team-a",queue="gpus"} 5');
    expect(text).toContain('mlops_queue_admitted_runs{namespace="team-a",queue="gpus"} 2');
    expect(text).toContain('mlops_queue_usage{namespace="team-a",queue="gpus",resource="gpus"} 3');
    expect(text).toContain('mlops_queue_quota{namespace="team-a",queue="gpus",resource="runs"} 10');
    observeResources(() => []);
    expect(await registry.metrics()).not.toContain('mlops_queue_pending_runs{namespace="team-a"');
  });

  it("get tq shows QUOTA, USED, PENDING and ADMITTED", () => {
    const { headers, cells } = columnsOf("TrainingQueue", false);
    expect(headers).toEqual(["NAME", "QUOTA", "USED", "PENDING", "ADMITTED", "AGE"]);
    const record = { metadata: queue.metadata, status: queue.status } as never;
    expect(cells(record, "3h")).toEqual(["gpus", "gpus=4,runs=10", "gpus=3,runs=2", "5", "2", "3h"]);
  });
});

// The Kubernetes source under the real controller and dispatcher, with a recording reconciler:
// a kubectl-style create is reconciled and its status lands in /status once; an invalid edit gets
// the InvalidSpec condition; a delete is finalized while the finalizer holds the object, then forget
// removes the finalizer and the object goes.
import { afterEach, describe, expect, it } from "vitest";
import type { AnyResource, ResourceKey, TrainingJob } from "../../src/api/resources.ts";
import { Controller } from "../../src/controller/controller.ts";
import { createDispatch } from "../../src/controller/dispatch.ts";
import {
  awaitChange,
  type BaseContext,
  type Reconciler,
  systemClock,
} from "../../src/controller/reconcile.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { FINALIZER } from "../../src/sources/kubernetes/index.ts";
import { type KubeHarness, startHarness, trainingJob, until } from "../doubles/kubernetes/index.ts";

const A: ResourceKey = "TrainingJob/ml/a";
let harness: KubeHarness | undefined;
let controller: Controller | undefined;
afterEach(async () => {
  await controller?.stop({ gracePeriodMs: 100 });
  await harness?.close();
  controller = undefined;
  harness = undefined;
});

describe("KubernetesSource under the controller", () => {
  it("reconciles, reports invalid specs, and finalizes before the object goes", async () => {
    harness = await startHarness();
    const h = harness;
    const calls: string[] = [];
    const reconciler: Reconciler<TrainingJob> = {
      kind: "TrainingJob",
      async reconcile(job, ctx) {
        calls.push(`reconcile ${job.metadata.name} g${job.metadata.generation}`);
        await ctx.status.write(job, { phase: "Pending", observedGeneration: job.metadata.generation });
        return awaitChange;
      },
      async finalize(key, lastKnown) {
        const held = h.double.state.get("trainingjobs", "ml", "a").metadata.finalizers ?? [];
        calls.push(`finalize ${key} last=${lastKnown?.metadata.generation} held=${held.join(",")}`);
        return "done";
      },
    };
    const context: BaseContext = {
      status: h.source,
      recorder: { event: () => {} },
      clock: systemClock,
      log: silentLogger(),
      resources: h.source,
    };
    controller = new Controller({
      name: "kubernetes-source-test",
      dispatch: createDispatch(h.source, { TrainingJob: { reconciler, context } }),
      sources: [h.source.changes()],
      resyncMs: 0,
    });
    controller.start();

    h.double.create(trainingJob("a"));
    await until(
      "status written",
      () => (h.double.state.get("trainingjobs", "ml", "a").status as { phase?: string })?.phase === "Pending",
    );
    await until(
      "finalizer",
      () => h.double.state.get("trainingjobs", "ml", "a").metadata.finalizers?.includes(FINALIZER) === true,
    );
    const statusWrites = () => h.double.state.writes.get("PATCH trainingjobs/status") ?? 0;
    expect(statusWrites()).toBe(1);

    h.double.state.patch("trainingjobs", "ml", "a", { spec: { image: "trainer:2" } });
    await until("reconciled at generation 2", () => calls.includes("reconcile a g2"));
    await until(
      "observedGeneration 2",
      () =>
        (h.double.state.get("trainingjobs", "ml", "a").status as { observedGeneration?: number })
          .observedGeneration === 2,
    );

    h.double.state.patch("trainingjobs", "ml", "a", { spec: { replica: 3 } });
    await until("InvalidSpec condition", () => {
      const status = h.double.state.get("trainingjobs", "ml", "a").status as {
        conditions?: { reason: string; message: string }[];
      };
      return status.conditions?.some((c) => c.reason === "InvalidSpec") === true;
    });
    const invalid = (
      h.double.state.get("trainingjobs", "ml", "a").status as {
        conditions: { type: string; message: string }[];
      }
    ).conditions.find((c) => c.type === "Ready");
    expect(invalid?.message).toBe('ml/a: spec.replica: unknown field (did you mean "replicas"?)');
    expect((h.double.state.get("trainingjobs", "ml", "a").status as { phase: string }).phase).toBe("Pending"); // the last good status is kept

    h.double.state.delete("trainingjobs", "ml", "a");
    await until("object gone", () => {
      try {
        h.double.state.get("trainingjobs", "ml", "a");
        return false;
      } catch {
        return true;
      }
    });
    expect(calls).toEqual(["reconcile a g1", "reconcile a g2", `finalize ${A} last=2 held=${FINALIZER}`]);
    await until("forgotten", () => h.source.lookup(A).state === "absent");
    expect(h.source.list("TrainingJob")).toEqual([] as AnyResource[]);
  });
});

import { describe, expect, it } from "vitest";
import { renderRun, STOPPED_MARKER_POLICY } from "../../src/scheduler/docker/render.ts";
import { isEmptyPlan, planSubmit } from "../../src/scheduler/docker/submit-plan.ts";
import { container, exited, runRequest } from "./docker-fixtures.ts";

const run = runRequest({}, { replicas: 2 });
const specs = renderRun(run);
const names = (list: readonly { Name?: string; name?: string }[]) => list.map((c) => c.Name ?? c.name);

describe("planSubmit", () => {
  it("creates every replica when nothing exists", () => {
    const plan = planSubmit(run, specs, []);
    expect(names(plan.create)).toEqual(["mlops.default.mnist.0", "mlops.default.mnist.1"]);
    expect(plan.remove).toEqual([]);
  });

  it("is empty for a converged run: no second write", () => {
    const plan = planSubmit(run, specs, [container({ run, replica: 0 }), container({ run, replica: 1 })]);
    expect(isEmptyPlan(plan)).toBe(true);
  });

  it("never starts a finished replica again (exit 0, retries used up, failed start)", () => {
    const done = [
      container({ run, replica: 0, state: exited(0) }),
      container({ run, replica: 1, state: exited(1), restartCount: 2 }),
    ];
    expect(isEmptyPlan(planSubmit(run, specs, done))).toBe(true);
    const failedStart = [
      container({ run, replica: 0, state: { Status: "created", Running: false, Error: "exec failed" } }),
      container({ run, replica: 1 }),
    ];
    expect(isEmptyPlan(planSubmit(run, specs, failedStart))).toBe(true);
  });

  it("replaces the containers of another run", () => {
    const old = runRequest({ runId: "g0-old", runSpecHash: "run-0" }, { replicas: 3 });
    const existing = [0, 1, 2].map((replica) => container({ run: old, replica }));
    const plan = planSubmit(run, specs, existing);
    expect(plan.remove).toHaveLength(3);
    expect(plan.create).toHaveLength(2);
  });

  it("resumes stop-marked replicas (policy restored, then started) and restarts ones stopped by hand", () => {
    const existing = [
      container({ run, replica: 0, state: exited(143), policy: STOPPED_MARKER_POLICY }),
      container({ run, replica: 1, state: exited(137), restartCount: 0 }),
    ];
    const plan = planSubmit(run, specs, existing);
    expect(names(plan.restore)).toEqual(["/mlops.default.mnist.0"]);
    expect(plan.policy).toEqual({ Name: "no", MaximumRetryCount: 0 });
    expect(names(plan.start)).toEqual(["/mlops.default.mnist.0", "/mlops.default.mnist.1"]);
  });

  it("re-creates a replica removed by hand and starts a created one", () => {
    const plan = planSubmit(run, specs, [
      container({ run, replica: 1, state: { Status: "created", Running: false } }),
    ]);
    expect(names(plan.create)).toEqual(["mlops.default.mnist.0"]);
    expect(names(plan.start)).toEqual(["/mlops.default.mnist.1"]);
  });

  it("updates drifted limits in place", () => {
    const plan = planSubmit(run, specs, [
      container({ run, replica: 0, memory: 1 }),
      container({ run, replica: 1 }),
    ]);
    expect(plan.update).toEqual([
      { id: "id-g1-aaaa-0", name: "mlops.default.mnist.0", nanoCpus: 500_000_000, memory: 64 * 1024 * 1024 },
    ]);
  });

  it("touches nothing when a container of the key belongs to another owner", () => {
    const foreign = container({ run: runRequest({ ownerId: "owner-b" }), replica: 0 });
    const plan = planSubmit(run, specs, [foreign]);
    expect(plan.notOwned).toBe(foreign);
    expect(isEmptyPlan(plan)).toBe(true);
  });
});

import { describe, expect, it } from "vitest";
import type { TrainingJob } from "../../src/api/resources.ts";
import { trainingJobs } from "../../src/observability/metrics.ts";
import { PhaseTracker } from "../../src/trainingjob/watches.ts";
import { trainingJob } from "./builders.ts";

function job(name: string, namespace: string): TrainingJob {
  const j = trainingJob({}, 1, name);
  j.metadata.namespace = namespace;
  return j;
}

async function counted(namespace: string, phase: string): Promise<number> {
  const { values } = await trainingJobs.get();
  return values.find((v) => v.labels.namespace === namespace && v.labels.phase === phase)?.value ?? 0;
}

describe("PhaseTracker", () => {
  it("counts each job once under its namespace and current phase, and reports each transition once", async () => {
    trainingJobs.reset();
    const tracker = new PhaseTracker();
    const a = job("a", "team-x");
    const b = job("b", "team-y");
    expect(tracker.written(a, undefined, "Pending")).toEqual({ from: undefined, to: "Pending" });
    expect(tracker.written(b, "Running", "Running")).toBeUndefined();
    expect(await counted("team-x", "Pending")).toBe(1);
    expect(await counted("team-y", "Running")).toBe(1);

    expect(tracker.written(a, "Pending", "Running")).toEqual({ from: "Pending", to: "Running" });
    // The phase counted in memory wins over a stale recorded one.
    expect(tracker.written(a, "Pending", "Running")).toBeUndefined();
    expect(await counted("team-x", "Pending")).toBe(0);
    expect(await counted("team-x", "Running")).toBe(1);
    expect(await counted("team-y", "Running")).toBe(1);

    // No phase (the job is gone): uncounted, and the transition is reported.
    expect(tracker.written(b, undefined, undefined)).toEqual({ from: "Running", to: undefined });
    expect(await counted("team-y", "Running")).toBe(0);
    expect(tracker.written(b, undefined, "Pending")).toEqual({ from: undefined, to: "Pending" });
    expect(await counted("team-y", "Pending")).toBe(1);
  });
});

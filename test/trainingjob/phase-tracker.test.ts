import { describe, expect, it } from "vitest";
import { keyOf, type TrainingJob } from "../../src/api/resources.ts";
import { PhaseTracker } from "../../src/trainingjob/watches.ts";
import { trainingJob } from "./builders.ts";

function job(name: string, namespace: string): TrainingJob {
  const j = trainingJob({}, 1, name);
  j.metadata.namespace = namespace;
  return j;
}

describe("PhaseTracker", () => {
  it("reports each transition once, against the phase last written, or the recorded one before the first write", () => {
    const tracker = new PhaseTracker();
    const a = job("a", "team-x");
    const b = job("b", "team-y");
    expect(tracker.written(a, undefined, "Pending")).toEqual({ from: undefined, to: "Pending" });
    // A restart: the recorded phase is where a job's first write starts from.
    expect(tracker.written(b, "Running", "Running")).toBeUndefined();

    expect(tracker.written(a, "Pending", "Running")).toEqual({ from: "Pending", to: "Running" });
    // The phase written wins over a stale recorded one.
    expect(tracker.written(a, "Pending", "Running")).toBeUndefined();

    // No phase (the job is gone): the transition is reported once.
    expect(tracker.written(b, undefined, undefined)).toEqual({ from: "Running", to: undefined });
    expect(tracker.written(b, undefined, "Pending")).toEqual({ from: undefined, to: "Pending" });
  });

  it("forgets a job: a job of the same name starts from its own recorded phase", () => {
    const tracker = new PhaseTracker();
    const a = job("a", "team-x");
    expect(tracker.written(a, undefined, "Succeeded")).toEqual({ from: undefined, to: "Succeeded" });
    // Without forget, the old job's Succeeded would hide the new job's first transition.
    tracker.forget(keyOf(a));
    expect(tracker.written(a, undefined, "Succeeded")).toEqual({ from: undefined, to: "Succeeded" });
  });
});

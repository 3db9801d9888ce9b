// Fixture builders for TrainingJob tests.
import type { TrainingJobSpec } from "../../src/api/generated/types.ts";
import type { TrainingJob } from "../../src/api/resources.ts";
import { validateDocument } from "../../src/api/validate.ts";
import type { ObservedReplica, ObservedRun } from "../../src/scheduler/port.ts";

export function trainingJob(
  spec: Partial<TrainingJobSpec> & Record<string, unknown> = {},
  generation = 1,
  name = "train",
): TrainingJob {
  const result = validateDocument({
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingJob",
    metadata: { name, namespace: "default" },
    spec: { image: "trainer:1", ...spec },
  });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  const job = result.resource as TrainingJob;
  job.metadata.generation = generation;
  return job;
}

export function replica(
  index: number,
  state: ObservedReplica["state"],
  extra: Partial<ObservedReplica> = {},
): ObservedReplica {
  return { index, id: `alloc-${index}`, state, restarts: 0, ...extra };
}

export function observedRun(
  fields: Partial<ObservedRun> & Pick<ObservedRun, "runId" | "specHash" | "runSpecHash">,
): ObservedRun {
  return { ownerId: "owner-a", generation: 1, stopped: false, replicas: [], ...fields };
}

// Server: Nomad 1.9.6 (and 2.0.3 where noted), hashicorp/nomad. Follows: api/jobs.go (the job shapes the
// fixtures build).
// Fixture builders for Nomad scheduler tests (type-only imports from src: still node built-ins only).
import type { TrainingJobSpec } from "../../../src/api/resources.ts";
import type { NomadJob } from "../../../src/clients/nomad/types.ts";
import type { RunRequest } from "../../../src/scheduler/port.ts";

/** `${name}` as Nomad writes interpolations. */
export const interpolation = (name: string): string => ["$", "{", name, "}"].join("");

export function runRequest(spec: Partial<TrainingJobSpec> = {}, over: Partial<RunRequest> = {}): RunRequest {
  return {
    key: { kind: "TrainingJob", namespace: "team-a", name: "resnet" },
    ownerId: "owner-1",
    runId: "run-1",
    generation: 3,
    specHash: "spec-1",
    runSpecHash: "runspec-1",
    spec: {
      image: "registry.example.com/trainer:1.4.2",
      replicas: 1,
      resources: { cpu: 500, memoryMB: 512, gpus: 0 },
      priority: 50,
      backoffLimit: 3,
      suspend: false,
      ...spec,
    },
    ...over,
  };
}

/** A one-task batch job as a client registers it (the fields Nomad requires, nothing more). */
export function nomadJob(
  id: string,
  namespace = "default",
  meta: Record<string, string> = {},
  config: Record<string, unknown> = { image: "x" },
): NomadJob {
  return {
    ID: id,
    Name: id,
    Namespace: namespace,
    Type: "batch",
    Priority: 50,
    Datacenters: ["*"],
    Meta: meta,
    TaskGroups: [
      {
        Name: "train",
        Count: 1,
        Tasks: [{ Name: "main", Driver: "docker", Config: config, Resources: { CPU: 100, MemoryMB: 64 } }],
      },
    ],
  };
}

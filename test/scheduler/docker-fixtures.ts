// Builders for the Docker scheduler's unit tests: a RunRequest and container inspects as Docker
// 20.10 returns them (only the fields the scheduler reads).
import type { TrainingJobSpec } from "../../src/api/generated/types.ts";
import type { InspectedContainer } from "../../src/scheduler/docker/observe.ts";
import { labelsFor } from "../../src/scheduler/docker/render.ts";
import type { RunRequest } from "../../src/scheduler/port.ts";

export function spec(overrides: Partial<TrainingJobSpec> = {}): TrainingJobSpec {
  return {
    image: "mlops-operator/trainer:dev",
    replicas: 1,
    resources: { cpu: 500, memoryMB: 64, gpus: 0 },
    priority: 50,
    backoffLimit: 2,
    suspend: false,
    ...overrides,
  };
}

export function runRequest(
  overrides: Partial<RunRequest> = {},
  specOverrides: Partial<TrainingJobSpec> = {},
): RunRequest {
  return {
    key: { kind: "TrainingJob", namespace: "default", name: "mnist" },
    ownerId: "owner-a",
    runId: "g1-aaaa",
    generation: 1,
    specHash: "spec-1",
    runSpecHash: "run-1",
    spec: spec(specOverrides),
    ...overrides,
  };
}

type State = InspectedContainer["State"];

export interface ContainerOptions {
  replica?: number;
  run?: RunRequest;
  state?: Partial<State>;
  restartCount?: number;
  policy?: { Name: string; MaximumRetryCount: number };
  labels?: Record<string, string>;
  created?: string;
  nanoCpus?: number;
  memory?: number;
}

export function container(o: ContainerOptions = {}): InspectedContainer {
  const run = o.run ?? runRequest();
  const replica = o.replica ?? 0;
  return {
    Id: `id-${run.runId}-${replica}`,
    Name: `/mlops.${run.key.namespace}.${run.key.name}.${replica}`,
    Created: o.created ?? "2026-11-26T10:00:00.000000000Z",
    RestartCount: o.restartCount ?? 0,
    State: {
      Status: "running",
      Running: true,
      Restarting: false,
      OOMKilled: false,
      ExitCode: 0,
      Error: "",
      StartedAt: "2026-11-26T10:00:01.000000000Z",
      FinishedAt: "0001-01-01T00:00:00Z",
      ...o.state,
    },
    Config: { Labels: o.labels ?? labelsFor(run, replica), Image: run.spec.image },
    HostConfig: {
      RestartPolicy: o.policy ?? { Name: "on-failure", MaximumRetryCount: run.spec.backoffLimit },
      NanoCpus: o.nanoCpus ?? run.spec.resources.cpu * 1_000_000,
      Memory: o.memory ?? run.spec.resources.memoryMB * 1024 * 1024,
    },
  };
}

export const exited = (code: number, extra: Partial<State> = {}): Partial<State> => ({
  Status: "exited",
  Running: false,
  ExitCode: code,
  FinishedAt: "2026-11-26T10:05:00.000000000Z",
  ...extra,
});

// What the queue scenario tests run the job reconciler with: an index over a map of resources, a
// queue gate over it, and a TrainingJobContext whose status writes land on the resource in memory.
import type { AnyResource, Kind, ResourceKey, StatusOf, TrainingQueue } from "../../src/api/resources.ts";
import { keyOf } from "../../src/api/resources.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import type { TrainingJobContext } from "../../src/trainingjob/context.ts";
import { QueueAdmission } from "../../src/trainingqueue/gate.ts";
import { RecordingScheduler } from "../trainingjob/recording-scheduler.ts";

export function queueContext(
  resources: Map<ResourceKey, AnyResource>,
  scheduler: RecordingScheduler,
  now: () => Date,
  gateOptions: ConstructorParameters<typeof QueueAdmission>[1] = {},
): { gate: QueueAdmission; ctx: TrainingJobContext } {
  const index = {
    get: (key: ResourceKey) => resources.get(key),
    list: (kind: Kind) => [...resources.values()].filter((r) => r.kind === kind),
  };
  const gate = new QueueAdmission(index, gateOptions);
  const ctx: TrainingJobContext = {
    status: {
      write: async <R extends AnyResource>(resource: R, status: StatusOf<R>) => {
        resource.status = status;
      },
    },
    recorder: { event: () => undefined },
    clock: { now },
    log: silentLogger(),
    resources: index,
    schedulers: { resolve: () => ({ scheduler }), byTarget: () => scheduler },
    ownerId: "owner-a",
    startupTimeoutMs: 600_000,
    revision: () => "abc123",
    queues: gate,
  };
  return { gate, ctx };
}

/** A world of one StrictFIFO queue `default/gpus` with `quota`: its resources, scheduler and gate. */
export function queueWorld(
  quota: NonNullable<TrainingQueue["spec"]["quota"]>,
  gateOptions: ConstructorParameters<typeof QueueAdmission>[1] = {},
) {
  const resources = new Map<ResourceKey, AnyResource>();
  const scheduler = new RecordingScheduler();
  const queue: TrainingQueue = {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingQueue",
    metadata: { name: "gpus", namespace: "default", generation: 1 },
    spec: { admission: "StrictFIFO", preemption: "Never", quota },
  };
  resources.set(keyOf(queue), queue);
  const now = new Date("2026-01-01T12:00:00Z");
  return { resources, scheduler, ...queueContext(resources, scheduler, () => now, gateOptions) };
}

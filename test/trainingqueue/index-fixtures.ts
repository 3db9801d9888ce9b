// Jobs, queues and a resource index with its change feed, as the queue gate's property tests use them.
import { Subject } from "rxjs";
import { expect } from "vitest";
import type { AnyResource, Kind, ResourceKey, TrainingJob, TrainingQueue } from "../../src/api/resources.ts";
import { keyOf } from "../../src/api/resources.ts";
import type { QueueAdmission } from "../../src/trainingqueue/gate.ts";

export const QUEUE_IDS = ["t/a", "t/b", "t/c", "u/a"] as const;
export const JOBS = 8;
export const NOW = new Date(1_000_000);

export function job(
  i: number,
  queue: string | undefined,
  priority: number,
  gpus: number,
  generation: number,
) {
  return {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingJob",
    metadata: {
      name: `j${i}`,
      namespace: i % 2 === 0 ? "t" : "u",
      generation,
      creationTimestamp: new Date(i * 1000).toISOString(),
    },
    spec: {
      image: "x",
      ...(queue ? { queue } : {}),
      priority,
      replicas: 1,
      resources: { gpus, cpu: 100, memoryMB: 64 },
    },
  } as unknown as TrainingJob;
}

export function queue(id: string, spec: Partial<TrainingQueue["spec"]>, generation: number): TrainingQueue {
  const [namespace = "", name = ""] = id.split("/");
  return {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingQueue",
    metadata: { name, namespace, generation },
    spec: { admission: "StrictFIFO", preemption: "Never", ...spec },
  };
}

/** A resource index as a source keeps it: resources replaced on each change, the key then announced. */
export class Resources {
  readonly map = new Map<ResourceKey, AnyResource>();
  readonly feed = new Subject<ResourceKey>();
  readonly index = {
    get: (key: ResourceKey) => this.map.get(key),
    list: (kind: Kind) => [...this.map.values()].filter((r) => r.kind === kind),
  };
  /** Lookups through `counted` (how many jobs a gate call reads). */
  reads = 0;
  readonly counted = {
    get: (key: ResourceKey) => {
      this.reads++;
      return this.map.get(key);
    },
    list: this.index.list,
  };
  put(r: AnyResource): void {
    this.map.set(keyOf(r), r);
    this.feed.next(keyOf(r));
  }
  delete(key: ResourceKey): void {
    this.map.delete(key);
    this.feed.next(key);
  }
  jobs(): TrainingJob[] {
    return [...this.map.values()].filter((r): r is TrainingJob => r.kind === "TrainingJob");
  }
}

export function wantsToRun(j: TrainingJob): boolean {
  if (j.spec.suspend) return false;
  return !(j.status?.phase === "Succeeded" && j.status.observedGeneration === j.metadata.generation);
}

/** Both gates give every queue of QUEUE_IDS the same view (usage, admitted and pending counts). */
export function expectSameViews(a: QueueAdmission, b: QueueAdmission): void {
  for (const id of QUEUE_IDS) {
    const q = queue(id, {}, 1);
    expect(a.view(q)).toEqual(b.view(q));
  }
}

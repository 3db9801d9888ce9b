// A TrainingJob reconciler wired to recording doubles: status writes, events and clock in memory.

import type { AnyResource, Kind, ResourceKey, StatusOf, TrainingJob } from "../../src/api/resources.ts";
import { keyOf } from "../../src/api/resources.ts";
import type { Action } from "../../src/controller/reconcile.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import type { TrainingJobContext } from "../../src/trainingjob/context.ts";
import type { RunAnnotation, RunAnnotator } from "../../src/trainingjob/ports.ts";
import { TrainingJobReconciler } from "../../src/trainingjob/reconciler.ts";
import { RecordingScheduler } from "./recording-scheduler.ts";

export class Harness {
  readonly scheduler = new RecordingScheduler();
  readonly reconciler = new TrainingJobReconciler();
  readonly statusWrites: unknown[] = [];
  readonly events: string[] = [];
  now = new Date("2026-01-01T12:00:00Z");
  annotator: (RunAnnotator & { calls: string[] }) | undefined;
  ctx: TrainingJobContext;

  constructor(options: { annotator?: boolean; failingAnnotator?: boolean } = {}) {
    if (options.annotator || options.failingAnnotator) {
      const calls: string[] = [];
      let next = 1;
      const fail = options.failingAnnotator === true;
      this.annotator = {
        calls,
        async started(run: RunAnnotation) {
          calls.push(`started ${run.runId}${run.fresh ? " fresh" : ""}`);
          if (fail) throw Object.assign(new Error("grafana down"), { reason: "GrafanaUnavailable" });
          return next++;
        },
        async finished(run) {
          calls.push(`finished ${run.runId} ${run.outcome} id=${run.id}`);
        },
      };
    }
    const resources = new Map<ResourceKey, AnyResource>();
    this.ctx = {
      status: {
        write: async <R extends AnyResource>(resource: R, status: StatusOf<R>) => {
          this.statusWrites.push(status);
          resource.status = status;
        },
      },
      recorder: { event: (_key, type, reason) => void this.events.push(`${type} ${reason}`) },
      clock: { now: () => this.now },
      log: silentLogger(),
      resources: {
        get: (key) => resources.get(key),
        list: (kind: Kind) => [...resources.values()].filter((r) => r.kind === kind),
      },
      schedulers: { resolve: () => ({ scheduler: this.scheduler }), byTarget: () => this.scheduler },
      ownerId: "owner-a",
      ...(this.annotator ? { annotator: this.annotator } : {}),
      startupTimeoutMs: 600_000,
      revision: () => "abc123",
    };
  }

  reconcile(job: TrainingJob): Promise<Action> {
    return this.reconciler.reconcile(job, this.ctx);
  }

  finalize(job: TrainingJob) {
    return this.reconciler.finalize(keyOf(job), job, this.ctx);
  }
}

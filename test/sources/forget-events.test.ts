// A resource that is gone for good leaves nothing in the state directory: the events recorded while
// it was finalized ("Deleted", still waiting in the event log's batch) are dropped with it, not
// written into a log that would outlive it (the dispatcher tells the recorder, then the source).
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { ResourceKey } from "../../src/api/resources.ts";
import { bothRecorders } from "../../src/cli/kube-events.ts";
import { createDispatch } from "../../src/controller/dispatch.ts";
import { awaitChange, type BaseContext, type Recorder, systemClock } from "../../src/controller/reconcile.ts";
import type { Source } from "../../src/controller/source.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { EventLog, readEvents, readRecord, StateStore } from "../../src/sources/state/index.ts";
import { eventsPath } from "../../src/sources/state/paths.ts";
import { trainingJob } from "../trainingjob/builders.ts";

let stateDir: string;
beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), "mlops-forget-events-"));
});
afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

const A: ResourceKey = "TrainingJob/default/a";
const B: ResourceKey = "TrainingJob/default/b";
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A dispatcher over a source in which A is deleted; its finalize records "Deleted", as the reconciler does. */
function dispatcher(store: StateStore, recorder: Recorder) {
  const source = {
    lookup: (key: ResourceKey) =>
      key === A ? { state: "deleted", lastKnown: undefined } : { state: "absent" },
    forget: (key: ResourceKey) => store.forget(key),
  } as unknown as Source;
  const context = { recorder, clock: systemClock, log: silentLogger() } as unknown as BaseContext;
  return createDispatch(source, {
    TrainingJob: {
      context,
      reconciler: {
        kind: "TrainingJob",
        reconcile: async () => awaitChange,
        finalize: async (key, _lastKnown, ctx) => {
          ctx.recorder.event(key, "Normal", "Deleted", "removed the run's objects");
          return "done";
        },
      },
    },
  });
}

it("a finalized resource's pending events are dropped and its log removed; another resource's events are written", async () => {
  const store = new StateStore(stateDir);
  const events = new EventLog(stateDir, { flushMs: 50 });
  try {
    await store.writeStatus(trainingJob({}, 1, "a"), { phase: "Succeeded" });
    events.event(A, "Normal", "Submitted", "run g1-a");
    await events.flush();
    await store.flush();
    expect(existsSync(eventsPath(stateDir, A))).toBe(true);

    events.event(B, "Normal", "Submitted", "run g1-b");
    await dispatcher(store, events)(A);
    await pause(120); // past the event log's own flush timer
    await events.flush();
    expect(existsSync(eventsPath(stateDir, A))).toBe(false);
    expect(await readRecord(stateDir, A)).toBeUndefined();
    expect((await readEvents(stateDir, B)).map((e) => e.reason)).toEqual(["Submitted"]);
  } finally {
    await events.close();
    await store.close();
  }
});

it("with the Kubernetes source's two recorders, both are told (the local log removed)", async () => {
  const store = new StateStore(stateDir);
  const events = new EventLog(stateDir, { flushMs: 50 });
  const told: ResourceKey[] = [];
  const kube: Recorder = { event: () => {}, forget: async (key) => void told.push(key) };
  try {
    events.event(A, "Normal", "Submitted", "run g1-a");
    await events.flush();
    await dispatcher(store, bothRecorders(events, kube))(A);
    await pause(120);
    expect(existsSync(eventsPath(stateDir, A))).toBe(false);
    expect(told).toEqual([A]);
  } finally {
    await events.close();
    await store.close();
  }
});

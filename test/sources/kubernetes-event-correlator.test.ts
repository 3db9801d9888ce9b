// The event correlator (client-go tools/record/events_cache.go): repeats patch the Event written
// before (count, first timestamp kept), anything that differs in type, reason, message or object is a
// new Event, and the per source+object token bucket (burst 25, one token per 300 s) skips the rest.
import { describe, expect, it } from "vitest";
import {
  DEFAULT_SPAM_BURST,
  DEFAULT_SPAM_REFILL_MS,
  EventCorrelator,
  type EventInput,
} from "../../src/sources/kubernetes/index.ts";

const ref = (name: string, uid = `uid-${name}`) => ({
  apiVersion: "mlops.dev/v1alpha1",
  kind: "TrainingJob",
  namespace: "ml",
  name,
  uid,
});
const event = (over: Partial<EventInput> = {}): EventInput => ({
  involvedObject: ref("a"),
  type: "Normal",
  reason: "Submitted",
  message: "run r1 submitted",
  ...over,
});
const T0 = new Date("2026-12-04T20:00:00Z");
const T1 = new Date("2026-12-04T20:01:00Z");

function correlator(now = { ms: 0 }) {
  return new EventCorrelator({ component: "mlops-operator", host: "pod-1", now: () => now.ms });
}

describe("EventCorrelator", () => {
  it("uses client-go's spam defaults", () => {
    expect(DEFAULT_SPAM_BURST).toBe(25);
    expect(DEFAULT_SPAM_REFILL_MS).toBe(300_000);
  });

  it("creates the first event and patches its repeats with a growing count and the first timestamp", () => {
    const c = correlator();
    expect(c.correlate(event(), T0)).toEqual({ op: "create", count: 1, firstTimestamp: T0 });
    c.written(event(), "a.1", 1, T0);
    expect(c.correlate(event(), T1)).toEqual({ op: "patch", name: "a.1", count: 2, firstTimestamp: T0 });
    c.written(event(), "a.1", 2, T0);
    expect(c.correlate(event(), T1)).toMatchObject({ op: "patch", name: "a.1", count: 3 });
  });

  it.each([
    ["type", { type: "Warning" as const }],
    ["reason", { reason: "Stopped" }],
    ["message", { message: "run r2 submitted" }],
    ["object name", { involvedObject: ref("b") }],
    ["object uid (re-created)", { involvedObject: ref("a", "uid-new") }],
  ])("a different %s is a new event", (_what, over) => {
    const c = correlator();
    c.correlate(event(), T0);
    c.written(event(), "a.1", 1, T0);
    expect(c.correlate(event(over), T1)).toEqual({ op: "create", count: 1, firstTimestamp: T1 });
  });

  it("a repeat of an event whose write never succeeded is created again", () => {
    const c = correlator();
    c.correlate(event(), T0); // the create failed: written() never called
    expect(c.correlate(event(), T1)).toEqual({ op: "create", count: 1, firstTimestamp: T1 });
  });

  it("after forget (the Event expired) the next repeat is created, counting from 1", () => {
    const c = correlator();
    c.correlate(event(), T0);
    c.written(event(), "a.1", 4, T0);
    c.forget(event());
    expect(c.correlate(event(), T1)).toEqual({ op: "create", count: 1, firstTimestamp: T1 });
  });

  it("lets 25 events about one object through, then one per 300 s; other objects have their own bucket", () => {
    const now = { ms: 0 };
    const c = correlator(now);
    const ops = Array.from({ length: 30 }, (_, i) => c.correlate(event({ reason: `R${i}` }), T0).op);
    expect(ops.filter((op) => op === "create")).toHaveLength(25);
    expect(ops.slice(25)).toEqual(["skip", "skip", "skip", "skip", "skip"]);
    expect(c.correlate(event({ involvedObject: ref("b") }), T0).op).toBe("create");
    now.ms = 299_000;
    expect(c.correlate(event({ reason: "late" }), T0).op).toBe("skip");
    now.ms = 300_000;
    expect(c.correlate(event({ reason: "later" }), T0).op).toBe("create");
    expect(c.correlate(event({ reason: "at once" }), T0).op).toBe("skip");
  });

  it("a skipped repeat still counts: the next write patches with the total", () => {
    const now = { ms: 0 };
    const c = new EventCorrelator({ component: "c", host: "h", burst: 2, now: () => now.ms });
    c.correlate(event(), T0);
    c.written(event(), "a.1", 1, T0);
    expect(c.correlate(event(), T1).op).toBe("patch"); // count 2, second token
    expect(c.correlate(event(), T1).op).toBe("skip"); // count 3, no token
    now.ms = DEFAULT_SPAM_REFILL_MS;
    expect(c.correlate(event(), T1)).toMatchObject({ op: "patch", count: 4 });
  });

  it("forgets the least recently used keys beyond its size", () => {
    const c = new EventCorrelator({ component: "c", host: "h", cacheSize: 2 });
    for (const name of ["a", "b", "c"]) {
      const e = event({ involvedObject: ref(name) });
      c.correlate(e, T0);
      c.written(e, `${name}.1`, 1, T0);
    }
    expect(c.correlate(event({ involvedObject: ref("a") }), T1).op).toBe("create");
    expect(c.correlate(event({ involvedObject: ref("c") }), T1).op).toBe("patch");
  });
});

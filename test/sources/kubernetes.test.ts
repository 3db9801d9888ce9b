// The Kubernetes source against the API double, through the real @kubernetes/client-node: list then
// watch, events to changes() and lookup, 410 Gone, dropped and stalled watches, invalid objects,
// failed and partial lists, status writes, the finalizer and generations from the server.

import { afterEach, describe, expect, it } from "vitest";
import { KINDS } from "../../src/api/kinds.ts";
import type { AnyResource, ResourceKey } from "../../src/api/resources.ts";
import {
  type KubeHarness,
  mlopsStack,
  startHarness,
  trainingJob,
  until,
} from "../doubles/kubernetes/index.ts";

const TJ = "trainingjobs";
const A: ResourceKey = "TrainingJob/ml/a";
const B: ResourceKey = "TrainingJob/ml/b";

let harness: KubeHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(options: Parameters<typeof startHarness>[0] = {}): Promise<KubeHarness> {
  harness = await startHarness({
    ...options,
    double: { token: "t0ken", ...options.double },
    source: { finalizer: false, ...options.source },
  });
  return harness;
}

const stateOf = (h: KubeHarness, key: ResourceKey) => h.source.lookup(key).state;
const imageOf = (resource: AnyResource | undefined) =>
  (resource?.spec as { image?: unknown } | undefined)?.image;

describe("KubernetesSource: list then watch", () => {
  it("lists both kinds, then watches each from its list's resourceVersion, with bookmarks", async () => {
    const h = await start({ start: false });
    h.double.create(trainingJob("a"));
    h.double.create(mlopsStack("stack"));
    expect(h.source.settled()).toBe(false);
    await h.source.start();
    expect(h.source.settled()).toBe(true);
    expect(h.source.lookup(A)).toMatchObject({ state: "present", resource: { metadata: { generation: 1 } } });
    expect(h.source.get("MlopsStack/ml/stack")?.kind).toBe("MlopsStack");
    await until("a watch per kind", () => h.double.openWatches === KINDS.length);
    const rv = h.double.state.resourceVersion;
    for (const plural of [TJ, "mlopsstacks"]) {
      const path = `/apis/mlops.dev/v1alpha1/${plural}`;
      const calls = h.double.requests.filter((r) => r.path === path);
      expect(calls.map((r) => r.query.watch ?? "list")).toEqual(["list", "true"]);
      expect(calls[1]?.query).toMatchObject({ resourceVersion: rv, allowWatchBookmarks: "true" });
    }
    expect(new Set(h.keys)).toEqual(new Set([A, "MlopsStack/ml/stack"]));
    expect(h.source.description).toBe(`kubernetes ${h.double.url}`);
    expect(h.source.revision()).toBeUndefined();
  });

  it("ADDED, MODIFIED and DELETED reach changes() and lookup; generation is the server's", async () => {
    const h = await start();
    h.double.create(trainingJob("a"));
    await until("a present", () => stateOf(h, A) === "present");
    h.double.state.patch(TJ, "ml", "a", { spec: { image: "trainer:2.0" } });
    await until("generation 2", () => h.source.get(A)?.metadata.generation === 2);
    expect(imageOf(h.source.get(A))).toBe("trainer:2.0");
    const before = h.keys.length;
    h.double.state.writeStatus(TJ, "ml", "a", { status: { phase: "Running" } }, true); // not ours to react to
    h.double.state.patch(TJ, "ml", "a", { metadata: { labels: { team: "vision" } } });
    await until("labels", () => h.source.get(A)?.metadata.labels?.team === "vision");
    expect(h.source.get(A)?.metadata.generation).toBe(2);
    expect(h.keys.length).toBe(before + 1); // the label change, not the status change
    h.double.state.delete(TJ, "ml", "a");
    await until("a deleted", () => stateOf(h, A) === "deleted");
    const deleted = h.source.lookup(A);
    expect(deleted.state === "deleted" && deleted.lastKnown?.metadata.labels).toEqual({ team: "vision" });
    expect(h.source.list("TrainingJob")).toEqual([]);
    await h.source.forget(A);
    expect(stateOf(h, A)).toBe("absent");
    expect(h.keys.filter((k) => k === A).length).toBe(4); // added, spec, labels, deleted
  });

  it("a 410 Gone lists again: changes made meanwhile arrive once, unchanged objects stay quiet", async () => {
    const h = await start({ double: { eventWindow: 5 } });
    for (const name of ["a", "b", "c", "d"]) h.double.create(trainingJob(name));
    await until("four jobs", () => h.source.list("TrainingJob").length === 4);
    h.double.stallWatches();
    h.double.state.patch(TJ, "ml", "a", { spec: { image: "trainer:3" } });
    h.double.state.delete(TJ, "ml", "b");
    h.double.create(trainingJob("e"));
    h.double.state.compact();
    const marked = h.keys.length;
    h.double.dropWatches();
    await until("re-listed", () => h.source.loops.TrainingJob.stats.lists === 2);
    expect(h.source.loops.TrainingJob.stats.gone).toBe(1);
    expect(h.source.get(A)?.metadata.generation).toBe(2);
    expect(stateOf(h, B)).toBe("deleted");
    expect(stateOf(h, "TrainingJob/ml/e")).toBe("present");
    expect(stateOf(h, "TrainingJob/ml/d")).toBe("present");
    expect(h.keys.slice(marked).sort()).toEqual([A, B, "TrainingJob/ml/e"]);
    // and the new watch follows from the new list's version
    h.double.create(trainingJob("f"));
    await until("f present", () => stateOf(h, "TrainingJob/ml/f") === "present");
  });

  it("a watch refused with HTTP 410 (not an ERROR event) lists again too", async () => {
    const h = await start();
    h.double.create(trainingJob("a"));
    await until("a", () => stateOf(h, A) === "present");
    h.double.failNext(1, {
      method: "GET",
      match: /trainingjobs\?.*watch=true/,
      code: 410,
      reason: "Expired",
    });
    h.double.dropWatches();
    await until("re-listed", () => h.source.loops.TrainingJob.stats.lists === 2);
    expect(stateOf(h, A)).toBe("present");
    h.double.create(trainingJob("b"));
    await until("b", () => stateOf(h, B) === "present");
  });

  it("a dropped watch reconnects from its version with exponential backoff while the server fails", async () => {
    const h = await start({ source: { backoffInitialMs: 40, backoffMaxMs: 1_000 } });
    h.double.create(trainingJob("a"));
    await until("a", () => stateOf(h, A) === "present");
    h.double.failNext(3, {
      method: "GET",
      match: /trainingjobs\?.*watch=true/,
      code: 503,
      reason: "ServiceUnavailable",
    });
    h.double.dropWatches();
    h.double.create(trainingJob("b"));
    await until("b after reconnect", () => stateOf(h, B) === "present");
    const loop = h.source.loops.TrainingJob;
    expect(loop.stats.lists).toBe(1); // resumed, not re-listed
    expect(loop.stats.errors).toBeGreaterThanOrEqual(3);
    const [d1, d2, d3] = loop.delays.slice(-3) as [number, number, number];
    expect(d1).toBeGreaterThanOrEqual(30);
    expect(d2).toBeGreaterThan(d1);
    expect(d3).toBeGreaterThan(d2);
  });

  it("a silent watch is restarted by the stall watchdog and catches up", async () => {
    const h = await start({ source: { stallMs: 300 }, double: { bookmarkMs: 50 } });
    await until("watching", () => h.double.openWatches === KINDS.length);
    h.double.stallWatches();
    h.double.create(trainingJob("a"));
    const started = Date.now();
    await until("a after the stall", () => stateOf(h, A) === "present");
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(h.source.loops.TrainingJob.stats.stalls).toBeGreaterThanOrEqual(1);
    expect(h.source.loops.TrainingJob.stats.lists).toBe(1);
  });
});

describe("KubernetesSource: the client's inactivity timeout", () => {
  it("a watch the client aborts for silence counts as a stall (not an error) and resumes", async () => {
    const h = await start({
      source: { stallMs: 10_000, watchInactivityMs: 200 },
      double: { bookmarkMs: 60_000 },
    });
    await until("watching", () => h.double.openWatches === KINDS.length);
    h.double.stallWatches();
    h.double.create(trainingJob("a"));
    await until("a after the client's timeout", () => stateOf(h, A) === "present");
    const stats = h.source.loops.TrainingJob.stats;
    expect(stats.stalls).toBeGreaterThanOrEqual(1);
    expect(stats.errors).toBe(0);
    expect(stats.lists).toBe(1);
  });
});

describe("KubernetesSource: safety", () => {
  it("invalid objects are 'invalid' with namespace/name: path: message, and are never deleted", async () => {
    const h = await start({ double: { eventWindow: 3 } });
    h.double.create(trainingJob("a"));
    h.double.create(trainingJob("typo", "ml", { replica: 3 }));
    await until("both", () => stateOf(h, "TrainingJob/ml/typo") === "invalid" && stateOf(h, A) === "present");
    const found = h.source.lookup("TrainingJob/ml/typo");
    expect(found.state === "invalid" && found.error.message).toBe(
      'ml/typo: spec.replica: unknown field (did you mean "replicas"?)',
    );
    expect(found.state === "invalid" && found.error.reason).toBe("InvalidSpec");
    // a good object turned bad keeps its last good version
    h.double.state.patch(TJ, "ml", "a", { spec: { image: 42 } });
    await until("a invalid", () => stateOf(h, A) === "invalid");
    const a = h.source.lookup(A);
    expect(a.state === "invalid" && a.error.message).toBe("ml/a: spec.image: must be of type string");
    expect(a.state === "invalid" && imageOf(a.lastKnown)).toBe("trainer:1.0");
    // a re-list keeps both invalid (not deleted)
    h.double.stallWatches();
    h.double.create(trainingJob("other"));
    h.double.state.compact();
    h.double.dropWatches();
    await until("re-listed", () => h.source.loops.TrainingJob.stats.lists === 2);
    expect(stateOf(h, A)).toBe("invalid");
    expect(stateOf(h, "TrainingJob/ml/typo")).toBe("invalid");
    expect(h.source.list("TrainingJob").map((r) => r.metadata.name)).toEqual(["other"]);
  });

  it("a failed list prunes nothing; the next complete one does", async () => {
    const h = await start();
    h.double.create(trainingJob("a"));
    h.double.create(trainingJob("b"));
    await until("two", () => h.source.list("TrainingJob").length === 2);
    h.double.stallWatches();
    h.double.state.delete(TJ, "ml", "b");
    h.double.state.compact();
    h.double.failNext(2, { method: "GET", match: /\/trainingjobs(\?(?!.*watch=true).*)?$/ });
    h.double.dropWatches();
    await until("two failed lists", () => h.source.loops.TrainingJob.stats.errors >= 2);
    expect(stateOf(h, B)).toBe("present");
    await until("b deleted after a complete list", () => stateOf(h, B) === "deleted");
    expect(stateOf(h, A)).toBe("present");
  });

  it("a list that fails on a later page prunes nothing", async () => {
    const h = await start({ source: { pageSize: 1 } });
    for (const name of ["a", "b", "c"]) h.double.create(trainingJob(name));
    await until("three", () => h.source.list("TrainingJob").length === 3);
    h.double.stallWatches();
    h.double.state.delete(TJ, "ml", "c");
    h.double.state.compact();
    h.double.failNext(1, { method: "GET", match: /continue=/ });
    h.double.dropWatches();
    await until("failed page", () => h.double.requests.some((r) => r.query.continue !== undefined));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(stateOf(h, "TrainingJob/ml/c")).toBe("present");
    const lists = h.double.requests.filter((r) => r.path.endsWith("/trainingjobs") && !r.query.watch);
    expect(lists.map((r) => [r.query.limit, r.query.continue !== undefined])).toEqual([
      ["1", false], // the first list, before any job existed
      ["1", false], // after the 410: the first page...
      ["1", true], // ...and the second, which failed
    ]);
    await until("c deleted", () => stateOf(h, "TrainingJob/ml/c") === "deleted");
    expect(stateOf(h, B)).toBe("present");
  });

  it("start() rejects naming the resource when the API answers 404 (CRDs not applied)", async () => {
    const h = await start({ start: false, source: { startTimeoutMs: 300 } });
    h.double.failNext(1000, { code: 404, reason: "NotFound" });
    await expect(h.source.start()).rejects.toThrow(
      /no complete list of trainingjobs\.mlops\.dev and mlopsstacks\.mlops\.dev and trainingqueues\.mlops\.dev within 300 ms: .*404 NotFound/,
    );
    expect(h.source.settled()).toBe(false);
  });
});

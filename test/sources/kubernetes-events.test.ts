// Kubernetes Events from the operator (src/sources/kubernetes/events.ts) on the real
// @kubernetes/client-node against the API double: an event becomes a core/v1 Event on the resource
// (involvedObject with uid and resourceVersion, source and reporting component), listed as kubectl
// describe lists them (fieldSelector on involvedObject); repeats PATCH count and lastTimestamp as a
// strategic merge patch; an expired Event is created again; failures never reach the caller.
import { CoreV1Api } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/observability/logger.ts";
import { ClientEventSink, KubeEventRecorder } from "../../src/sources/kubernetes/index.ts";
import { type KubeHarness, startHarness, trainingJob, until } from "../doubles/kubernetes/index.ts";

const A = "TrainingJob/ml/a";
let harness: KubeHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function withJob(): Promise<{ h: KubeHarness; recorder: KubeEventRecorder }> {
  harness = await startHarness({ source: { finalizer: false } });
  const h = harness;
  h.double.create(trainingJob("a"));
  await until("the source holds a", () => h.source.get(A) !== undefined);
  const recorder = new KubeEventRecorder({
    sink: new ClientEventSink(h.double.kubeConfig()),
    reference: (key) => h.source.reference(key),
    host: "mlops-operator-7d9f-abcde",
    log: silentLogger(),
  });
  return { h, recorder };
}

describe("KubeEventRecorder", () => {
  it("records a core/v1 Event on the resource, found as kubectl describe finds it", async () => {
    const { h, recorder } = await withJob();
    recorder.event(A, "Normal", "Submitted", "run r1 submitted to Nomad");
    await recorder.flush();
    const object = h.double.state.get("trainingjobs", "ml", "a").metadata;
    const core = h.double.kubeConfig().makeApiClient(CoreV1Api);
    const selector = `involvedObject.name=a,involvedObject.namespace=ml,involvedObject.kind=TrainingJob,involvedObject.uid=${object.uid}`;
    const list = await core.listNamespacedEvent({ namespace: "ml", fieldSelector: selector });
    expect(list.items).toHaveLength(1);
    const e = list.items[0];
    expect(e?.metadata.name).toMatch(/^a\.[0-9a-f]+$/);
    expect(e).toMatchObject({
      involvedObject: {
        apiVersion: "mlops.dev/v1alpha1",
        kind: "TrainingJob",
        namespace: "ml",
        name: "a",
        uid: object.uid,
        resourceVersion: object.resourceVersion,
      },
      type: "Normal",
      reason: "Submitted",
      message: "run r1 submitted to Nomad",
      count: 1,
      source: { component: "mlops-operator", host: "mlops-operator-7d9f-abcde" },
      reportingComponent: "mlops-operator",
      reportingInstance: "mlops-operator-7d9f-abcde",
    });
    expect(e?.firstTimestamp).toEqual(e?.lastTimestamp);
    const other = await core.listNamespacedEvent({ namespace: "ml", fieldSelector: "involvedObject.name=b" });
    expect(other.items).toEqual([]);
  });

  it("folds repeats into one Event: strategic merge PATCHes of count and lastTimestamp", async () => {
    const { h, recorder } = await withJob();
    for (let i = 0; i < 3; i++) {
      recorder.event(A, "Warning", "NomadUnavailable", "connection refused");
      await recorder.flush();
    }
    recorder.event(A, "Warning", "NomadUnavailable", "timeout"); // another message: another Event
    await recorder.flush();
    const events = h.double.events.list("ml");
    expect(events.map((e) => [e.message, e.count])).toEqual([
      ["connection refused", 3],
      ["timeout", 1],
    ]);
    const patches = h.double.requests.filter((r) => r.method === "PATCH" && r.path.includes("/events/"));
    expect(patches).toHaveLength(2);
    expect(patches[1]?.contentType).toBe("application/strategic-merge-patch+json");
    expect(Object.keys(patches[1]?.body as object).sort()).toEqual(["count", "lastTimestamp", "message"]);
    expect(patches[1]?.body).toMatchObject({ count: 3 });
    expect(recorder.stats).toMatchObject({ created: 2, patched: 2, failed: 0 });
  });

  it("creates a new Event when the one it would patch expired (404)", async () => {
    const { h, recorder } = await withJob();
    recorder.event(A, "Normal", "Submitted", "run r1");
    await recorder.flush();
    const [first] = h.double.events.list("ml");
    h.double.events.expire("ml", first?.metadata.name ?? "");
    recorder.event(A, "Normal", "Submitted", "run r1");
    await recorder.flush();
    const events = h.double.events.list("ml");
    expect(events).toHaveLength(1);
    expect(events[0]?.metadata.name).not.toBe(first?.metadata.name);
    expect(events[0]?.count).toBe(1);
    recorder.event(A, "Normal", "Submitted", "run r1"); // and repeats patch the new one
    await recorder.flush();
    expect(h.double.events.list("ml").map((e) => e.count)).toEqual([2]);
  });

  it("never throws or waits: a failed write is dropped, a full queue drops, the next events still go", async () => {
    const { h, recorder } = await withJob();
    h.double.failNext(1, { method: "POST", match: /\/events/, code: 500 });
    recorder.event(A, "Normal", "Submitted", "lost");
    recorder.event(A, "Normal", "Running", "kept");
    await recorder.flush();
    expect(recorder.stats).toMatchObject({ failed: 1, created: 1 });
    expect(h.double.events.list("ml").map((e) => e.reason)).toEqual(["Running"]);

    const small = new KubeEventRecorder({
      sink: new ClientEventSink(h.double.kubeConfig()),
      reference: (key) => h.source.reference(key),
      queueLimit: 2,
    });
    for (let i = 0; i < 5; i++) small.event(A, "Normal", `Burst${i}`, "x");
    await small.close();
    expect(small.stats.dropped).toBe(2); // one in flight, two waiting
    expect(small.stats.created).toBe(3);
    small.event(A, "Normal", "AfterClose", "x");
    await small.flush();
    expect(h.double.events.list("ml").map((e) => e.reason)).not.toContain("AfterClose");
  });

  it("close() gives up on an API server that does not answer, dropping what is queued", async () => {
    const hanging = new KubeEventRecorder({
      sink: { create: () => new Promise(() => {}), patch: () => new Promise(() => {}) },
      reference: () => ({
        apiVersion: "mlops.dev/v1alpha1",
        kind: "TrainingJob",
        namespace: "ml",
        name: "a",
        uid: "u",
      }),
    });
    for (let i = 0; i < 3; i++) hanging.event(A, "Normal", `R${i}`, "x");
    const started = performance.now();
    await hanging.close(50);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(hanging.stats.dropped).toBe(2); // one write hangs in flight, two never start
  });

  it("records nothing for an object the source does not hold", async () => {
    const { h, recorder } = await withJob();
    recorder.event("TrainingJob/ml/ghost", "Normal", "Submitted", "x");
    await recorder.flush();
    expect(h.double.count("POST", /\/events$/)).toBe(0);
  });

  it("rate-limits per object: 25 events about one object, then none until the bucket refills", async () => {
    const { h, recorder } = await withJob();
    for (let i = 0; i < 30; i++) recorder.event(A, "Normal", `Step${i}`, "x");
    await recorder.flush();
    expect(h.double.events.list("ml")).toHaveLength(25);
    expect(recorder.stats.skipped).toBe(5);
  });
});

describe("Kubernetes API double: core/v1 Events", () => {
  it("answers like the API server: namespace checks, 404 on patching a missing Event, unknown selectors", async () => {
    harness = await startHarness({ start: false });
    const url = harness.double.url;
    const post = (namespace: string, body: unknown) =>
      fetch(`${url}/api/v1/namespaces/${namespace}/events`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    const involvedObject = { kind: "TrainingJob", namespace: "ml", name: "a", uid: "u" };
    const wrongNs = await post("other", { metadata: { name: "a.1" }, involvedObject });
    expect(wrongNs.status).toBe(422);
    expect(((await wrongNs.json()) as { message: string }).message).toContain(
      "does not match event.namespace",
    );
    expect((await post("ml", { metadata: { name: "a.1", namespace: "x" }, involvedObject })).status).toBe(
      400,
    );
    expect((await post("ml", { metadata: { name: "a.1" }, involvedObject })).status).toBe(201);
    expect((await post("ml", { metadata: { name: "a.1" }, involvedObject })).status).toBe(409);
    const patch = (name: string, type: string) =>
      fetch(`${url}/api/v1/namespaces/ml/events/${name}`, {
        method: "PATCH",
        headers: { "Content-Type": type },
        body: JSON.stringify({ count: 2 }),
      });
    expect((await patch("missing", "application/strategic-merge-patch+json")).status).toBe(404);
    expect((await patch("a.1", "application/merge-patch+json")).status).toBe(200);
    expect(harness.double.events.list("ml")[0]?.count).toBe(2);
    const bad = await fetch(`${url}/api/v1/events?fieldSelector=spec.foo%3Dbar`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toBe("field label not supported: spec.foo");
    const all = (await (await fetch(`${url}/api/v1/events?fieldSelector=reason!%3DX`)).json()) as {
      kind: string;
      items: unknown[];
    };
    expect(all).toMatchObject({ kind: "EventList" });
    expect(all.items).toHaveLength(1);
  });
});

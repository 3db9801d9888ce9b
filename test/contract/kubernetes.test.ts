// Contract of the Kubernetes API double: what it answers for list, watch, status, events and errors
// is what the real @kubernetes/client-node parses, and has the documented shapes (the client's
// generated models V1ListMeta, V1ObjectMeta, V1Status, V1StatusDetails, V1WatchEvent and CoreV1Event
// name every field the API server may send), plus the API server's semantics the source relies on.
import {
  ApiException,
  CoreV1Api,
  CoreV1Event,
  CoreV1EventList,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  V1EventSource,
  V1ListMeta,
  V1ObjectMeta,
  V1ObjectReference,
  V1Status,
  V1StatusDetails,
  V1WatchEvent,
  Watch,
} from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KubernetesDouble, trainingJob, until } from "../doubles/kubernetes/index.ts";

type Model = { getAttributeTypeMap(): { baseName: string; type: string; format: string }[] };

/** Every field is one the model declares, with the JSON type its declared type implies. */
function expectShape(value: unknown, model: Model, where: string): void {
  expect(value, where).toBeTypeOf("object");
  const fields = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a]));
  for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
    const declared = fields.get(key);
    expect(declared, `${where}.${key} is not a field of the client's model`).toBeDefined();
    if (field === null || declared === undefined) continue;
    const expected =
      declared.type === "string" || declared.type === "Date"
        ? "string"
        : declared.type === "number"
          ? "number"
          : declared.type === "boolean"
            ? "boolean"
            : declared.type.startsWith("Array<")
              ? "array"
              : "object";
    expect(Array.isArray(field) ? "array" : typeof field, `${where}.${key}`).toBe(expected);
    if (declared.format === "date-time")
      expect(Number.isNaN(Date.parse(field as string)), `${where}.${key}`).toBe(false);
  }
}

const G = { group: "mlops.dev", version: "v1alpha1" };
const MERGE = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
let double: KubernetesDouble;
let api: CustomObjectsApi;

beforeEach(async () => {
  double = new KubernetesDouble({ token: "contract", bookmarkMs: 30, eventWindow: 2 });
  await double.start();
  api = double.kubeConfig().makeApiClient(CustomObjectsApi);
});
afterEach(() => double.close());

async function statusOfFailure(call: Promise<unknown>): Promise<Record<string, unknown>> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiException);
  const body = (error as ApiException<unknown>).body;
  return (typeof body === "string" ? JSON.parse(body) : body) as Record<string, unknown>;
}

describe("Kubernetes API double: contract with @kubernetes/client-node", () => {
  it("lists: a <Kind>List with metadata.resourceVersion and objects with the server's metadata", async () => {
    double.create(trainingJob("a"));
    double.create({
      ...trainingJob("b", "other"),
      metadata: { name: "b", namespace: "other", labels: { x: "y" } },
    });
    const all = await api.listCustomObjectForAllNamespaces({ ...G, resourcePlural: "trainingjobs" });
    expect(all.apiVersion).toBe("mlops.dev/v1alpha1");
    expect(all.kind).toBe("TrainingJobList");
    expectShape(all.metadata, V1ListMeta, "list.metadata");
    expect(all.metadata.resourceVersion).toBe(double.state.resourceVersion);
    expect(all.items).toHaveLength(2);
    for (const item of all.items) {
      expect(item).toMatchObject({ apiVersion: "mlops.dev/v1alpha1", kind: "TrainingJob" });
      expectShape(item.metadata, V1ObjectMeta, "item.metadata");
      expect(item.metadata).toMatchObject({
        generation: 1,
        uid: expect.any(String),
        resourceVersion: expect.any(String),
      });
    }
    const scoped = await api.listNamespacedCustomObject({ ...G, namespace: "other", plural: "trainingjobs" });
    expect(scoped.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(["b"]);
    const page = await api.listCustomObjectForAllNamespaces({
      ...G,
      resourcePlural: "trainingjobs",
      limit: 1,
    });
    expect(page.items).toHaveLength(1);
    const rest = await api.listCustomObjectForAllNamespaces({
      ...G,
      resourcePlural: "trainingjobs",
      limit: 1,
      _continue: page.metadata.continue,
    });
    expect(rest.items).toHaveLength(1);
    expect(rest.metadata.continue).toBeUndefined();
    expect(rest.metadata.resourceVersion).toBe(page.metadata.resourceVersion);
  });

  it("errors are v1 Status objects the client surfaces as ApiException with the HTTP code", async () => {
    const notFound = await statusOfFailure(
      api.getNamespacedCustomObject({ ...G, namespace: "ml", plural: "trainingjobs", name: "nope" }),
    );
    expectShape(notFound, V1Status, "Status");
    expectShape(notFound.details, V1StatusDetails, "Status.details");
    expect(notFound).toMatchObject({
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      reason: "NotFound",
      code: 404,
    });
    expect(notFound.message).toBe('trainingjobs.mlops.dev "nope" not found');

    const created = double.create(trainingJob("a"));
    const conflict = await statusOfFailure(
      api.patchNamespacedCustomObjectStatus(
        {
          ...G,
          namespace: "ml",
          plural: "trainingjobs",
          name: "a",
          body: { metadata: { resourceVersion: "1" }, status: {} },
        },
        MERGE,
      ),
    );
    expect(conflict).toMatchObject({ reason: "Conflict", code: 409 });
    expect(conflict.message).toMatch(/the object has been modified/);
    // Without a content type the client sends a JSON patch, which this double does not take.
    const unsupported = await statusOfFailure(
      api.patchNamespacedCustomObject({ ...G, namespace: "ml", plural: "trainingjobs", name: "a", body: [] }),
    );
    expect(unsupported).toMatchObject({ reason: "UnsupportedMediaType", code: 415 });
    expect(double.state.get("trainingjobs", "ml", "a").metadata.resourceVersion).toBe(
      created.metadata.resourceVersion,
    );
  });

  it("watches: JSON lines of {type, object} the client's Watch parses; too old is an ERROR event with a 410 Status", async () => {
    const start = double.state.resourceVersion;
    const events: { type: string; object: Record<string, unknown> }[] = [];
    const lines: unknown[] = [];
    const watch = new Watch(double.kubeConfig());
    const controller = await watch.watch(
      "/apis/mlops.dev/v1alpha1/trainingjobs",
      { resourceVersion: start, allowWatchBookmarks: true },
      (type, object, line) => {
        events.push({ type, object });
        lines.push(line);
      },
      () => {},
    );
    double.create(trainingJob("a"));
    double.state.patch("trainingjobs", "ml", "a", { spec: { image: "t:2" } });
    double.state.delete("trainingjobs", "ml", "a");
    await until("a bookmark after the deletion", () => {
      const deleted = events.findIndex((e) => e.type === "DELETED");
      return deleted >= 0 && events.slice(deleted).some((e) => e.type === "BOOKMARK");
    });
    controller.abort();
    for (const line of lines) expectShape(line, V1WatchEvent, "watch line");
    expect(events.filter((e) => e.type !== "BOOKMARK").map((e) => e.type)).toEqual([
      "ADDED",
      "MODIFIED",
      "DELETED",
    ]);
    for (const e of events.filter((x) => x.type !== "BOOKMARK"))
      expectShape(e.object.metadata, V1ObjectMeta, "object.metadata");
    const bookmarks = events.filter((e) => e.type === "BOOKMARK");
    for (const b of bookmarks) {
      expect(b.object).toEqual({
        apiVersion: "mlops.dev/v1alpha1",
        kind: "TrainingJob",
        metadata: { resourceVersion: expect.stringMatching(/^\d+$/) },
      });
    }
    expect(bookmarks.at(-1)?.object).toMatchObject({
      metadata: { resourceVersion: double.state.resourceVersion },
    });

    const gone: { type: string; object: Record<string, unknown> }[] = [];
    let ended: unknown = "open";
    await watch.watch(
      "/apis/mlops.dev/v1alpha1/trainingjobs",
      { resourceVersion: start },
      (type, object) => gone.push({ type, object }),
      (error) => {
        ended = error;
      },
    );
    await until("the watch to end", () => ended !== "open");
    expect(ended).toBeNull(); // a normal end after the ERROR event
    expect(gone.map((e) => e.type)).toEqual(["ERROR"]);
    expectShape(gone[0]?.object, V1Status, "ERROR object");
    expect(gone[0]?.object).toMatchObject({
      kind: "Status",
      status: "Failure",
      reason: "Expired",
      code: 410,
    });
  });

  it("status subresource, generation and finalizers behave as on the API server", async () => {
    double.create({ ...trainingJob("a"), status: { phase: "ignored on create" } });
    const base = { ...G, namespace: "ml", plural: "trainingjobs", name: "a" };
    expect((await api.getNamespacedCustomObject(base)).status).toBeUndefined();
    const withStatus = await api.patchNamespacedCustomObjectStatus(
      { ...base, body: { spec: { image: "ignored" }, status: { phase: "Running" } } },
      MERGE,
    );
    expect(withStatus).toMatchObject({
      spec: { image: "trainer:1.0" },
      status: { phase: "Running" },
      metadata: { generation: 1 },
    });
    const withSpec = await api.patchNamespacedCustomObject(
      { ...base, body: { spec: { image: "t:2" }, status: { phase: "ignored" } } },
      MERGE,
    );
    expect(withSpec).toMatchObject({
      spec: { image: "t:2" },
      status: { phase: "Running" },
      metadata: { generation: 2 },
    });
    const labelled = await api.patchNamespacedCustomObject(
      { ...base, body: { metadata: { labels: { a: "b" } } } },
      MERGE,
    );
    expect(labelled.metadata.generation).toBe(2);
    const held = await api.patchNamespacedCustomObject(
      { ...base, body: { metadata: { finalizers: ["x/y"] } } },
      MERGE,
    );
    expect(held.metadata.finalizers).toEqual(["x/y"]);
    const deleting = await api.deleteNamespacedCustomObject(base);
    expect(deleting.metadata.deletionTimestamp).toEqual(expect.any(String));
    const released = await api.patchNamespacedCustomObject(
      { ...base, body: { metadata: { finalizers: null } } },
      MERGE,
    );
    expect(released.metadata.finalizers).toBeUndefined();
    await expect(api.getNamespacedCustomObject(base)).rejects.toMatchObject({ code: 404 });
    double.create(trainingJob("b"));
    const gone = await api.deleteNamespacedCustomObject({ ...base, name: "b" });
    expectShape(gone, V1Status, "delete Status");
    expect(gone).toMatchObject({ kind: "Status", status: "Success", details: { name: "b" } });
  });

  it("core/v1 Events: create, strategic merge patch and list have the CoreV1Event shapes", async () => {
    const core = double.kubeConfig().makeApiClient(CoreV1Api);
    const at = new Date("2026-12-04T20:00:00Z");
    const created = await core.createNamespacedEvent({
      namespace: "ml",
      body: {
        metadata: { name: "a.1", namespace: "ml" },
        involvedObject: {
          apiVersion: "mlops.dev/v1alpha1",
          kind: "TrainingJob",
          namespace: "ml",
          name: "a",
          uid: "u",
        },
        reason: "Submitted",
        message: "run r1",
        type: "Normal",
        count: 1,
        firstTimestamp: at,
        lastTimestamp: at,
        source: { component: "mlops-operator", host: "pod" },
        reportingComponent: "mlops-operator",
        reportingInstance: "pod",
      },
    });
    expect(created.metadata.resourceVersion).toBeTruthy();
    const patched = await core.patchNamespacedEvent(
      {
        name: "a.1",
        namespace: "ml",
        body: { count: 2, lastTimestamp: "2026-12-04T20:01:00Z", message: "run r1" },
      },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
    expect(patched.count).toBe(2);
    expect(patched.lastTimestamp?.toISOString()).toBe("2026-12-04T20:01:00.000Z");
    const response = await fetch(
      `${double.url}/api/v1/namespaces/ml/events?fieldSelector=involvedObject.uid%3Du`,
      {
        headers: { Authorization: "Bearer contract" },
      },
    );
    const list = (await response.json()) as { metadata: unknown; items: Record<string, unknown>[] };
    expectShape(list, CoreV1EventList, "EventList");
    expectShape(list.metadata, V1ListMeta, "EventList.metadata");
    for (const item of list.items) {
      expectShape(item, CoreV1Event, "Event");
      expectShape(item.metadata, V1ObjectMeta, "Event.metadata");
      expectShape(item.involvedObject, V1ObjectReference, "Event.involvedObject");
      expectShape(item.source, V1EventSource, "Event.source");
    }
    const missing = await statusOfFailure(
      core.patchNamespacedEvent(
        { name: "gone", namespace: "ml", body: { count: 3 } },
        setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
      ),
    );
    expect(missing).toMatchObject({ kind: "Status", code: 404, reason: "NotFound" });
  });

  it("requires the bearer token from the kubeconfig", async () => {
    const response = await fetch(`${double.url}/apis/mlops.dev/v1alpha1/trainingjobs`);
    expect(response.status).toBe(401);
    expectShape(await response.json(), V1Status, "401 Status");
  });
});

// What the Kubernetes source writes: status to the /status subresource (merge patch, only when it
// changed, one re-read on 409) and the mlops.dev/cleanup finalizer (added on sight, removed by
// forget() after finalize); and what scoping to a namespace changes.

import { afterEach, describe, expect, it } from "vitest";
import { KINDS } from "../../src/api/kinds.ts";
import type { ResourceKey, TrainingJob } from "../../src/api/resources.ts";
import { FINALIZER, ownerIdFor } from "../../src/sources/kubernetes/index.ts";
import { type KubeHarness, startHarness, trainingJob, until } from "../doubles/kubernetes/index.ts";

const TJ = "trainingjobs";
const A: ResourceKey = "TrainingJob/ml/a";
const B: ResourceKey = "TrainingJob/ml/b";

let harness: KubeHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(options: Parameters<typeof startHarness>[0] = {}): Promise<KubeHarness> {
  harness = await startHarness(options);
  return harness;
}

const statusPatches = (h: KubeHarness) =>
  h.double.requests.filter((r) => r.method === "PATCH" && r.path.endsWith("/status"));

function condition(status: "True" | "False", time: string) {
  return {
    type: "Ready",
    status,
    reason: "Pending",
    message: "",
    lastTransitionTime: time,
    observedGeneration: 1,
  };
}

describe("KubernetesSource: status", () => {
  it("merge-patches /status guarded by resourceVersion, only when it changed, timestamps aside", async () => {
    const h = await start({ source: { finalizer: false } });
    h.double.create(trainingJob("a"));
    await until("a", () => h.source.get(A) !== undefined);
    const job = h.source.get(A) as TrainingJob;
    const first = {
      phase: "Pending",
      startTime: "2026-01-01T00:00:00Z",
      conditions: [condition("False", "2026-01-01T00:00:00Z")],
    } as TrainingJob["status"] & object;
    await h.source.write(job, first);
    const [patch] = statusPatches(h);
    expect(patch?.contentType).toBe("application/merge-patch+json");
    expect(patch?.path).toBe("/apis/mlops.dev/v1alpha1/namespaces/ml/trainingjobs/a/status");
    expect(patch?.body).toEqual({
      metadata: { resourceVersion: job.metadata.resourceVersion },
      status: first,
    });
    const stored = h.double.state.get(TJ, "ml", "a");
    expect(stored.status).toEqual(first);
    expect(stored.metadata.generation).toBe(1);
    expect(h.source.get(A)?.status).toEqual(first); // from the response, before the watch says so

    const keys = h.keys.length;
    await h.source.write(job, { ...first, conditions: [condition("False", "2026-06-01T00:00:00Z")] });
    expect(statusPatches(h)).toHaveLength(1);

    const { startTime: _dropped, ...rest } = first;
    const second = { ...rest, phase: "Running" } as typeof first;
    await h.source.write(job, second);
    expect(statusPatches(h)[1]?.body).toMatchObject({ status: { phase: "Running", startTime: null } });
    expect(statusPatches(h)[1]?.body).not.toHaveProperty("status.conditions");
    expect(h.double.state.get(TJ, "ml", "a").status).toEqual(second);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(h.keys.length).toBe(keys); // our own status writes wake nobody
  });

  it("a 409 re-reads the object and retries once; a second 409 is thrown; a 404 is dropped", async () => {
    const h = await start({ source: { finalizer: false } });
    h.double.create(trainingJob("a"));
    await until("a", () => h.source.get(A) !== undefined);
    h.double.stallWatches(); // the source does not see the next change
    h.double.state.patch(TJ, "ml", "a", { metadata: { labels: { moved: "on" } } });
    const job = h.source.get(A) as TrainingJob;
    const from = h.double.requests.length;
    await h.source.write(job, { phase: "Pending" } as TrainingJob["status"] & object);
    // This object's requests: the source's watches of other kinds may list again meanwhile (a
    // loaded machine delays their first list past `from`).
    const calls = h.double.requests
      .slice(from)
      .filter((r) => r.path.includes("/trainingjobs/a"))
      .map((r) => `${r.method} ${r.path.split("/").slice(-2).join("/")}`);
    expect(calls).toEqual(["PATCH a/status", "GET trainingjobs/a", "PATCH a/status"]);
    expect(h.double.state.get(TJ, "ml", "a").status).toEqual({ phase: "Pending" });

    h.double.failNext(2, { method: "PATCH", match: /\/status$/, code: 409, reason: "Conflict" });
    await expect(h.source.write(job, { phase: "Running" } as never)).rejects.toMatchObject({
      reason: "Conflict",
    });

    h.double.state.delete(TJ, "ml", "a");
    await expect(h.source.write(job, { phase: "Failed" } as never)).resolves.toBeUndefined();
  });
});

describe("KubernetesSource: finalizer", () => {
  it("adds mlops.dev/cleanup; deletion → 'deleted' with the last state; forget removes it and the object goes", async () => {
    const h = await start();
    h.double.create(trainingJob("a"));
    h.double.create({
      ...trainingJob("b"),
      metadata: { name: "b", namespace: "ml", finalizers: ["example.com/keep"] },
    });
    await until("finalizers added", () =>
      ["a", "b"].every((n) => h.double.state.get(TJ, "ml", n).metadata.finalizers?.includes(FINALIZER)),
    );
    expect(h.double.state.get(TJ, "ml", "b").metadata.finalizers).toEqual(["example.com/keep", FINALIZER]);
    const adds = h.double.requests.filter((r) => r.method === "PATCH" && !r.path.endsWith("/status"));
    expect(adds).toHaveLength(2);
    expect(adds[0]?.contentType).toBe("application/merge-patch+json");
    expect(adds[0]?.body).toMatchObject({
      metadata: { finalizers: [FINALIZER], resourceVersion: expect.any(String) },
    });
    await until(
      "a seen with the finalizer",
      () => h.double.openWatches === KINDS.length && h.source.get(A) !== undefined,
    );
    expect(h.keys.filter((k) => k === A)).toHaveLength(1); // adding the finalizer wakes nobody

    h.double.state.delete(TJ, "ml", "a");
    expect(h.double.state.get(TJ, "ml", "a").metadata.deletionTimestamp).toBeDefined(); // held by the finalizer
    await until("a deleted", () => h.source.lookup(A).state === "deleted");
    const deleted = h.source.lookup(A);
    expect(deleted.state === "deleted" && deleted.lastKnown?.metadata.name).toBe("a");
    await h.source.forget(A);
    expect(() => h.double.state.get(TJ, "ml", "a")).toThrow(/not found/);
    expect(h.source.lookup(A).state).toBe("absent");

    h.double.state.delete(TJ, "ml", "b");
    await until("b deleted", () => h.source.lookup(B).state === "deleted");
    await h.source.forget(B);
    expect(h.double.state.get(TJ, "ml", "b").metadata.finalizers).toEqual(["example.com/keep"]);
    h.double.state.patch(TJ, "ml", "b", { metadata: { labels: { late: "change" } } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(h.source.lookup(A).state).toBe("absent"); // the DELETED event did not bring it back
    expect(h.source.lookup(B).state).toBe("absent"); // nor did a change of the forgotten object
    expect(h.keys.filter((k) => k === A)).toHaveLength(2);
    expect(h.keys.filter((k) => k === B)).toHaveLength(2);
  });

  it("forget() of a live object changes nothing", async () => {
    const h = await start();
    h.double.create(trainingJob("a"));
    await until(
      "finalizer",
      () => h.double.state.get(TJ, "ml", "a").metadata.finalizers?.includes(FINALIZER) === true,
    );
    await h.source.forget(A);
    expect(h.source.lookup(A).state).toBe("present");
    expect(h.double.state.get(TJ, "ml", "a").metadata.finalizers).toEqual([FINALIZER]);
  });
});

describe("KubernetesSource: namespace scope", () => {
  it("lists and watches one namespace; the owner id hashes the server and the namespace", async () => {
    const h = await start({ source: { namespace: "ml", finalizer: false } });
    h.double.create(trainingJob("a"));
    h.double.create(trainingJob("x", "other"));
    await until("a", () => h.source.get(A) !== undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(h.source.list("TrainingJob").map((r) => r.metadata.namespace)).toEqual(["ml"]);
    const paths = new Set(h.double.requests.map((r) => r.path));
    expect(paths).toEqual(
      new Set([
        "/apis/mlops.dev/v1alpha1/namespaces/ml/trainingjobs",
        "/apis/mlops.dev/v1alpha1/namespaces/ml/mlopsstacks",
        "/apis/mlops.dev/v1alpha1/namespaces/ml/notifiers",
        "/apis/mlops.dev/v1alpha1/namespaces/ml/trainingqueues",
      ]),
    );
    expect(h.source.defaultOwnerId).toBe(ownerIdFor(h.double.url, "ml"));
    expect(h.source.defaultOwnerId).not.toBe(ownerIdFor(h.double.url));
    expect(h.source.defaultOwnerId).toMatch(/^[0-9a-f]{16}$/);
    expect(h.source.description).toBe(`kubernetes ${h.double.url} namespace ml`);
  });
});

// Pure parts of the Kubernetes source: from API objects to resources (validation, server metadata),
// fingerprints, the merge patch builder (checked against the double's RFC 7386 apply), and the table.
import { describe, expect, it } from "vitest";
import type { ResourceKey } from "../../src/api/resources.ts";
import type { RawObject } from "../../src/sources/kubernetes/index.ts";
import { fingerprint, mergePatchFor, observe } from "../../src/sources/kubernetes/index.ts";
import { KubeTable } from "../../src/sources/kubernetes/table.ts";
import { applyMergePatch } from "../doubles/kubernetes/index.ts";

function raw(
  overrides: { metadata?: Record<string, unknown>; spec?: unknown; [key: string]: unknown } = {},
): RawObject {
  const { metadata, ...rest } = overrides;
  return {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingJob",
    spec: { image: "trainer:1" },
    ...rest,
    metadata: {
      name: "a",
      namespace: "ml",
      uid: "u-1",
      resourceVersion: "7",
      generation: 3,
      creationTimestamp: "2026-01-01T00:00:00Z",
      managedFields: [{ manager: "kubectl", operation: "Update" }],
      ...metadata,
    },
  } as RawObject;
}

describe("observe", () => {
  it("keeps the server's generation, uid, resourceVersion and status; ignores server-only metadata", () => {
    const o = observe(
      "TrainingJob",
      raw({
        metadata: { ownerReferences: [{ uid: "x" }], selfLink: "/x", finalizers: ["mlops.dev/cleanup"] },
        status: { phase: "Running" },
      }),
    );
    expect(o.error).toBeUndefined();
    expect(o.resource?.metadata).toEqual({
      name: "a",
      namespace: "ml",
      generation: 3,
      uid: "u-1",
      resourceVersion: "7",
      creationTimestamp: "2026-01-01T00:00:00Z",
    });
    expect(o.resource?.status).toEqual({ phase: "Running" });
    expect(o).toMatchObject({ key: "TrainingJob/ml/a", finalizers: ["mlops.dev/cleanup"], deleting: false });
  });

  const invalid: [string, RawObject, string][] = [
    [
      "unknown spec field",
      raw({ spec: { image: "t", replica: 2 } }),
      'ml/a: spec.replica: unknown field (did you mean "replicas"?)',
    ],
    ["unknown top-level field", raw({ extra: true }), "ml/a: extra: unknown field"],
    ["wrong type", raw({ spec: { image: 1 } }), "ml/a: spec.image: must be of type string"],
    ["missing spec", raw({ spec: undefined }), "ml/a: spec: is required"],
    [
      "bad label value",
      raw({ metadata: { labels: { a: 1 } } }),
      "ml/a: metadata.labels.a: must be of type string",
    ],
    [
      "kind served elsewhere",
      raw({ kind: "MlopsStack", spec: {} }),
      "ml/a: kind: must be TrainingJob (the object is served as TrainingJob)",
    ],
  ];
  it.each(invalid)("%s → invalid with namespace/name: path: message", (_name, object, message) => {
    const o = observe("TrainingJob", object);
    expect(o.resource).toBeUndefined();
    expect(o.error?.message).toBe(message);
    expect(o.error?.reason).toBe("InvalidSpec");
  });

  it("a deletionTimestamp marks the object as being deleted", () => {
    expect(
      observe("TrainingJob", raw({ metadata: { deletionTimestamp: "2026-01-02T00:00:00Z" } })).deleting,
    ).toBe(true);
  });

  it("fingerprints change with state, uid, generation and labels; not with status or resourceVersion", () => {
    const base = fingerprint(observe("TrainingJob", raw()), false);
    expect(
      fingerprint(
        observe("TrainingJob", raw({ status: { phase: "X" }, metadata: { resourceVersion: "9" } })),
        false,
      ),
    ).toBe(base);
    for (const changed of [
      raw({ metadata: { generation: 4 } }),
      raw({ metadata: { uid: "u-2" } }),
      raw({ metadata: { labels: { a: "b" } } }),
      raw({ metadata: { deletionTimestamp: "2026-01-02T00:00:00Z" } }),
      raw({ spec: { image: 1 } }),
    ]) {
      expect(fingerprint(observe("TrainingJob", changed), false)).not.toBe(base);
    }
    expect(fingerprint(observe("TrainingJob", raw()), true)).not.toBe(base);
  });
});

describe("mergePatchFor", () => {
  const cases: [string, unknown, unknown, unknown][] = [
    ["added key", { a: 1 }, { a: 1, b: 2 }, { b: 2 }],
    ["removed key is null", { a: 1, b: 2 }, { a: 1 }, { b: null }],
    ["nested change only", { r: { x: 1, y: 2 } }, { r: { x: 1, y: 3 } }, { r: { y: 3 } }],
    ["arrays replaced whole", { c: [1, 2] }, { c: [2] }, { c: [2] }],
    ["object to scalar", { r: { x: 1 } }, { r: 5 }, { r: 5 }],
    ["unchanged", { a: { b: [1] } }, { a: { b: [1] } }, {}],
    ["from nothing", undefined, { a: 1 }, { a: 1 }],
  ];
  it.each(cases)("%s", (_name, from, to, patch) => {
    expect(mergePatchFor(from, to)).toEqual(patch);
    expect(applyMergePatch(from, mergePatchFor(from, to))).toEqual(to);
  });
});

describe("KubeTable", () => {
  it("a complete list marks missing keys gone, keeps invalid ones, and forgotten uids stay away", () => {
    const changed: ResourceKey[] = [];
    const table = new KubeTable((key) => changed.push(key));
    table.replaceKind("TrainingJob", [raw(), raw({ metadata: { name: "bad", uid: "u-b" }, spec: {} })]);
    table.replaceKind("MlopsStack", [
      { ...raw({ metadata: { name: "s", uid: "u-s" } }), kind: "MlopsStack", spec: {} },
    ]);
    expect(changed).toEqual(["TrainingJob/ml/a", "TrainingJob/ml/bad", "MlopsStack/ml/s"]);
    expect(table.lookup("TrainingJob/ml/bad").state).toBe("invalid");
    expect(table.invalidCount()).toBe(1);

    changed.length = 0;
    table.replaceKind("TrainingJob", [raw({ metadata: { name: "bad", uid: "u-b" }, spec: {} })]);
    expect(changed).toEqual(["TrainingJob/ml/a"]);
    const a = table.lookup("TrainingJob/ml/a");
    expect(a.state === "deleted" && a.lastKnown?.metadata.uid).toBe("u-1");
    expect(table.lookup("TrainingJob/ml/bad").state).toBe("invalid");
    expect(table.lookup("MlopsStack/ml/s").state).toBe("present"); // another kind's list is its own

    table.forget("TrainingJob/ml/a");
    expect(table.lookup("TrainingJob/ml/a").state).toBe("absent");
    table.apply("TrainingJob", raw({ metadata: { generation: 9 } })); // a late event of the same uid
    expect(table.lookup("TrainingJob/ml/a").state).toBe("absent");
    table.apply("TrainingJob", raw({ metadata: { uid: "u-new" } })); // re-created under the same name
    expect(table.lookup("TrainingJob/ml/a").state).toBe("present");
  });

  it("a valid object turned invalid keeps its last valid version; a new uid does not inherit it", () => {
    const table = new KubeTable(() => {});
    table.apply("TrainingJob", raw());
    table.apply("TrainingJob", raw({ spec: { image: 2 } }));
    const found = table.lookup("TrainingJob/ml/a");
    expect(found.state === "invalid" && found.lastKnown?.spec).toMatchObject({
      image: "trainer:1",
      replicas: 1,
    });
    table.apply("TrainingJob", raw({ metadata: { uid: "u-2" }, spec: { image: 2 } }));
    const other = table.lookup("TrainingJob/ml/a");
    expect(other.state === "invalid" && other.lastKnown).toBeUndefined();
  });

  it("a write's answer older than the watch event already applied does not take the table back", () => {
    const changed: ResourceKey[] = [];
    const table = new KubeTable((key) => changed.push(key));
    // Our status write was answered at resourceVersion 8 (generation 3); another client's spec
    // change (9, generation 4) reached the watch first.
    table.apply(
      "TrainingJob",
      raw({ metadata: { resourceVersion: "9", generation: 4 }, spec: { image: "trainer:2" } }),
    );
    changed.length = 0;
    const kept = table.applyNewer(
      "TrainingJob",
      raw({ metadata: { resourceVersion: "8" }, status: { phase: "Pending" } }),
    );
    expect(kept?.generation).toBe(4);
    expect(table.observed("TrainingJob/ml/a")?.resourceVersion).toBe("9");
    expect(changed).toEqual([]);
    // A newer answer is applied; so is one whose versions are not decimal (opaque: not compared).
    table.applyNewer(
      "TrainingJob",
      raw({ metadata: { resourceVersion: "10", generation: 4 }, spec: { image: "trainer:2" } }),
    );
    expect(table.observed("TrainingJob/ml/a")?.resourceVersion).toBe("10");
    table.applyNewer("TrainingJob", raw({ metadata: { resourceVersion: "x7" } }));
    expect(table.observed("TrainingJob/ml/a")?.generation).toBe(3);
    // Another object under the same name (a new uid) is applied whatever its version.
    table.applyNewer("TrainingJob", raw({ metadata: { uid: "u-2", resourceVersion: "2", generation: 1 } }));
    expect(table.observed("TrainingJob/ml/a")?.uid).toBe("u-2");
  });

  it("a watch event queued before our status write and read after its answer does not take the status back", () => {
    const table = new KubeTable(() => {});
    table.applyNewer(
      "TrainingJob",
      raw({ metadata: { resourceVersion: "5" }, status: { phase: "Pending" } }),
    );
    // Our write of Running answered at 7; the watch still had the event of 6 (Pending, a label) to send.
    table.applyNewer(
      "TrainingJob",
      raw({ metadata: { resourceVersion: "7" }, status: { phase: "Running" } }),
    );
    table.applyNewer(
      "TrainingJob",
      raw({ metadata: { resourceVersion: "6", labels: { a: "b" } }, status: { phase: "Pending" } }),
    );
    const held = () => table.lookup("TrainingJob/ml/a");
    expect(held()).toMatchObject({ state: "present", resource: { status: { phase: "Running" } } });
    // The watch's event of 7 (our write) and later ones apply.
    table.applyNewer(
      "TrainingJob",
      raw({ metadata: { resourceVersion: "8" }, status: { phase: "Succeeded" } }),
    );
    expect(held()).toMatchObject({ state: "present", resource: { status: { phase: "Succeeded" } } });
    // A complete list is the server's word, older or not (a restored etcd).
    table.replaceKind("TrainingJob", [
      raw({ metadata: { resourceVersion: "3" }, status: { phase: "Pending" } }),
    ]);
    expect(held()).toMatchObject({ state: "present", resource: { status: { phase: "Pending" } } });
  });
});

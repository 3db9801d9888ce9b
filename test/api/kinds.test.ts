// The kind registry: its names are the CRDs' (the one schema), aliases resolve as kubectl's do, and
// every consumer reads the registry (validation, the Kubernetes source's plurals, get's columns).
import { describe, expect, it } from "vitest";
import { isKind, KIND_REGISTRY, KINDS, kindFromAlias } from "../../src/api/kinds.ts";
import { loadCrd } from "../../src/api/schema.ts";
import { validateDocument } from "../../src/api/validate.ts";
import { PRINTER_COLUMNS } from "../../src/cli/columns.ts";
import { PLURALS } from "../../src/sources/kubernetes/api.ts";

describe("kind registry", () => {
  it.each(KINDS)("%s: names are the CRD's spec.names, and its CRD is the kind's", (kind) => {
    const info = KIND_REGISTRY[kind];
    const crd = loadCrd(kind) as {
      spec: {
        group: string;
        names: { kind: string; plural: string; singular: string; shortNames?: string[] };
      };
    };
    expect(crd.spec.names).toMatchObject({ kind, plural: info.plural, singular: info.singular });
    expect(crd.spec.names.shortNames ?? []).toEqual(info.shortNames);
    expect(crd.spec.group).toBe("mlops.dev");
  });

  it.each([
    ["tj", "TrainingJob"],
    ["TrainingJobs", "TrainingJob"],
    ["trainingjob.mlops.dev", "TrainingJob"],
    ["ms", "MlopsStack"],
    ["mlopsstacks.mlops.dev", "MlopsStack"],
    ["pods", undefined],
    ["tj.other.io", undefined],
  ])("alias %s → %s", (alias, kind) => {
    expect(kindFromAlias(alias)).toBe(kind);
  });

  it("isKind accepts exactly the registry's kinds", () => {
    expect(KINDS.every(isKind)).toBe(true);
    expect(isKind("Pod")).toBe(false);
    expect(isKind("toString")).toBe(false);
  });

  it("every consumer covers every kind", () => {
    for (const kind of KINDS) {
      expect(PLURALS[kind]).toBe(KIND_REGISTRY[kind].plural);
      expect(PRINTER_COLUMNS[kind].length).toBeGreaterThan(0);
    }
  });

  it("validation names the registry's kinds and applies each kind's rules", () => {
    const bad = validateDocument({ apiVersion: "mlops.dev/v1alpha1", kind: "Pod", metadata: { name: "x" } });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.issues[0]?.message).toBe(`must be ${KINDS.join(" or ")} (got "Pod")`);
    const none = validateDocument({ apiVersion: "mlops.dev/v1alpha1", metadata: { name: "x" } });
    if (!none.ok) expect(none.issues[0]?.message).toBe(`is required: ${KINDS.join(" or ")}`);
    expect(none.ok).toBe(false);
    const stack = validateDocument({
      apiVersion: "mlops.dev/v1alpha1",
      kind: "MlopsStack",
      metadata: { name: "s" },
    });
    expect(stack.ok).toBe(true);
    const job = validateDocument({
      apiVersion: "mlops.dev/v1alpha1",
      kind: "TrainingJob",
      metadata: { name: "j" },
    });
    expect(job.ok).toBe(false);
  });
});

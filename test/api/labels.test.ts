import { describe, expect, it } from "vitest";
import { labelValueProblems, metadataMapIssues, qualifiedNameProblems } from "../../src/api/labels.ts";
import { validateDocument } from "../../src/api/validate.ts";

describe("label keys (Kubernetes IsQualifiedName)", () => {
  it.each([
    ["app", []],
    ["app.kubernetes.io/name", []],
    ["mlops.dev/prune", []],
    ["A_b-c.9", []],
    ["x".repeat(63), []],
    ["x".repeat(64), ["name part must be no more than 63 characters"]],
    ["", ["name part must be non-empty"]],
    ["-app", [expect.stringMatching(/^name part must consist of alphanumeric/)]],
    ["a b", [expect.stringMatching(/^name part must consist/)]],
    ["a\nb: OK", [expect.stringMatching(/^name part must consist/)]],
    ["\u001b[2J", [expect.stringMatching(/^name part must consist/)]],
    ["Example.com/app", [expect.stringMatching(/^prefix part a lowercase RFC 1123 subdomain/)]],
    ["/app", ["prefix part must be non-empty"]],
    ["a/b/c", [expect.stringMatching(/^a qualified name must consist/)]],
    [`${"a".repeat(254)}/x`, ["prefix part must be no more than 253 characters"]],
  ])("%j → %j", (key, expected) => {
    expect(qualifiedNameProblems(key)).toEqual(expected);
  });
});

describe("label values (Kubernetes IsValidLabelValue)", () => {
  it.each([
    ["", 0],
    ["v1.2_3-x", 0],
    ["x".repeat(63), 0],
    ["x".repeat(64), 1],
    ["ends-", 1],
    ["line\nbreak", 1],
    ["\u001b[2J", 1],
    ["spaces here", 1],
  ])("%j → %i problem(s)", (value, count) => {
    expect(labelValueProblems(value)).toHaveLength(count);
  });
});

describe("metadata maps in validateDocument", () => {
  const doc = (metadata: Record<string, unknown>) => ({
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingJob",
    metadata: { name: "a", ...metadata },
    spec: { image: "x" },
  });
  it("valid labels and annotations pass; bad ones are issues at their key", () => {
    expect(
      validateDocument(doc({ labels: { team: "nlp" }, annotations: { "mlops.dev/prune": "disabled" } })).ok,
    ).toBe(true);
    const bad = validateDocument(doc({ labels: { "bad key": "x", ok: "bad\u001b[2Jvalue", n: 5 } }));
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.issues.map((i) => [i.path.join("."), i.message.slice(0, 20)])).toEqual([
      ["metadata.labels.bad key", 'key "bad key": name '],
      ["metadata.labels.ok", 'value "bad\\u001b[2Jv'],
      ["metadata.labels.n", "must be of type stri"],
    ]);
  });
  it("oversized annotations", () => {
    const big = metadataMapIssues({ annotations: { note: "x".repeat(256 * 1024) } });
    expect(big[0]?.message).toMatch(/may not have more than 262144 bytes/);
  });
});

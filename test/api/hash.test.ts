import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { TrainingJobSpec } from "../../src/api/generated/types.ts";
import { canonicalJson, hashOf, specHashOf } from "../../src/api/hash.ts";
import { redactSpec } from "../../src/api/redact.ts";
import { runSpecHash, specHash } from "../../src/trainingjob/hash.ts";

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

/** The first canonical form, kept as the reference: hashes recorded in status files must not change. */
function reference(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(reference).join(",")}]`;
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  const entries = Object.keys(value)
    .sort()
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${reference((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(",")}}`;
}

describe("spec hashes", () => {
  it("canonicalJson gives the recorded form for any value (hashes in status files stay valid)", () => {
    const member = fc.oneof(
      fc.constant(undefined),
      fc.string(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small" },
        member,
        fc.array(tie("node")),
        fc.dictionary(fc.string(), tie("node")),
        fc.sparseArray(member),
      ),
    })).node;
    fc.assert(
      fc.property(value, (v) => canonicalJson(v) === reference(v)),
      { numRuns: 2_000 },
    );
    // Keys already in order and keys out of order; "B" sorts before "a" (code units, as sort() does).
    expect(canonicalJson({ a: 1, b: { d: 2, c: 3 } })).toBe('{"a":1,"b":{"c":3,"d":2}}');
    expect(canonicalJson({ a: 1, B: 2 })).toBe(reference({ a: 1, B: 2 }));
    expect(canonicalJson({ x: undefined, y: 1 })).toBe('{"y":1}');
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${39 - i}`, i]));
    expect(canonicalJson(many)).toBe(reference(many));
    expect(canonicalJson([undefined, () => 1])).toBe("[null,null]");
  });

  it("ignore key order and formatting, and drop undefined members", () => {
    expect(canonicalJson({ b: 1, a: [2, { d: undefined, c: "x" }] })).toBe('{"a":[2,{"c":"x"}],"b":1}');
    expect(hashOf({ b: 1, a: 2 })).toBe(hashOf({ a: 2, b: 1 }));
    expect(hashOf({ a: 2 }, 64)).toBe(sha('{"a":2}'));
    // The digest of the UTF-8 bytes, whatever the characters.
    expect(hashOf({ name: "modèle ✓ 模型" }, 64)).toBe(sha('{"name":"modèle ✓ 模型"}'));
  });

  it("specHashOf is hashOf at every length, computed once per spec object", () => {
    const spec = { image: "train:1", replicas: 2 };
    for (const length of [8, 16, 64]) expect(specHashOf(spec, length)).toBe(hashOf(spec, length));
    expect(specHashOf({ ...spec })).toBe(specHashOf(spec));
    expect(specHashOf({ ...spec, replicas: 3 })).not.toBe(specHashOf(spec));
    expect(specHashOf("text", 64)).toBe(hashOf("text", 64));
  });

  it("a job's run-spec hash leaves out the in-place fields and counts the secrets only when asked", () => {
    const spec = { image: "train:1", command: ["python"], priority: 50 } as unknown as TrainingJobSpec;
    const { priority: _priority, ...rest } = spec as unknown as Record<string, unknown>;
    expect(runSpecHash(spec)).toBe(hashOf(rest));
    expect(runSpecHash(spec, "s1")).toBe(runSpecHash(spec)); // restartOnSecretChange is off
    const restart = { ...spec, restartOnSecretChange: true } as TrainingJobSpec;
    expect(runSpecHash(restart, "s1")).not.toBe(runSpecHash(restart, "s2"));
    expect(runSpecHash(restart, "s1")).toBe(runSpecHash({ ...restart }, "s1"));
    expect(specHash(spec)).toBe(hashOf(spec));
  });

  it("redactSpec replaces env values by their hash, in a new copy each time (none kept)", () => {
    const spec = {
      image: "train:1",
      env: [
        { name: "TOKEN", value: "secret" },
        { name: "N", valueFrom: { file: "x" } },
      ],
    };
    const redacted = redactSpec(spec) as { env: Record<string, unknown>[] };
    expect(redacted.env).toEqual([
      { name: "TOKEN", valueHash: `sha256:${hashOf("secret", 12)}` },
      { name: "N", valueFrom: { file: "x" } },
    ]);
    expect(JSON.stringify(redacted)).not.toContain("secret");
    // Not kept per spec object: a holder of a redacted copy holds it no longer than it needs it.
    expect(redactSpec(spec)).not.toBe(redacted);
    expect(redactSpec(spec)).toEqual(redacted);
    expect(spec.env[0]?.value).toBe("secret"); // the spec itself is left as it is
    const plain = { image: "train:1" };
    expect(redactSpec(plain)).toBe(plain);
    // A spec already redacted (a status record read back) is returned as it is, not copied.
    const already = { image: "train:1", env: [{ name: "TOKEN", valueHash: "sha256:0123456789ab" }] };
    expect(redactSpec(already)).toBe(already);
  });
});

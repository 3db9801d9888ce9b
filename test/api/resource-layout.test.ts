// A validated resource is made with a slot for the status the source attaches later (V8's view:
// %DebugPrint). Added to an object made without it, the status went to a property array of its
// own: 40 bytes a resource, 0.4 MB at 10,000 (docs/benchmarks.md, round 30).
import { describe, expect, it } from "vitest";
import { debugPrints } from "./v8-debug.ts";

describe("a validated resource's layout", () => {
  it("takes its status in the object itself, without a property array", () => {
    const script = `
      const { resource } = validateDocument({
        apiVersion: "mlops.dev/v1alpha1",
        kind: "TrainingJob",
        metadata: { name: "resnet", namespace: "team-a" },
        spec: { image: "trainer:dev", command: ["python", "train.py"] },
      });
      resource.status = { phase: "Pending" };
      %DebugPrint(resource);`;
    const out = debugPrints({ "../../src/api/validate.ts": "validateDocument" }, script);
    expect(out).toMatch(/- properties: 0x[0-9a-f]+ <FixedArray\[0\]>/);
    expect(out).not.toContain("PropertyArray");
    expect(out).toMatch(/#status: .* location: in-object/);
  });
});

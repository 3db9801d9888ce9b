// A run's id and run-spec hash are strings the operator makes once and meets again when its Nomad
// job comes back on the event stream (the job's Meta, parsed anew). Made through the interner, the
// job the read cache keeps (compactJob interns its Meta) holds the run's own strings, not copies:
// 20,000 strings (0.64 MB) at the end of `run --once` over 10,000 jobs (docs/benchmarks.md, round 30).
import { describe, expect, it } from "vitest";
import { debugPrints } from "../api/v8-debug.ts";

const IMPORTS = {
  "../../src/trainingjob/hash.ts": "runIdFor, runSpecHash",
  "../../src/api/intern.ts": "interner",
};

describe("a run's identity strings", () => {
  it("the job's Meta, parsed from the event stream and interned, takes the run's own id and run-spec hash", () => {
    const script = `
      const spec = { image: "trainer:dev", command: ["python", "train.py"] };
      const hash = runSpecHash(spec);
      const id = runIdFor("TrainingJob/team-a/resnet", 3, hash);
      const meta = JSON.parse(JSON.stringify({ mlops_run_id: id, mlops_run_spec_hash: hash }));
      interner.internAll(meta);
      %DebugPrint(id);
      %DebugPrint(meta.mlops_run_id);
      %DebugPrint(hash);
      %DebugPrint(meta.mlops_run_spec_hash);`;
    const out = debugPrints(IMPORTS, script);
    const addresses = [...out.matchAll(/^DebugPrint: (0x[0-9a-f]+)/gm)].map((m) => m[1]);
    expect(addresses).toHaveLength(4);
    expect(addresses[1]).toBe(addresses[0]);
    expect(addresses[3]).toBe(addresses[2]);
    expect(out).toMatch(/"g3-[0-9a-f]{8}"/);
  });
});

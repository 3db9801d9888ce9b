// Strings kept per resource in many maps are built flat: a template literal of 13 characters or more
// is a rope in V8 (a cons string per join, kept with its parts), `join` writes one sequential string.
import { describe, expect, it } from "vitest";
import { hashOf } from "../../src/api/hash.ts";
import { keyOf, makeKey } from "../../src/api/resources.ts";
import { jobWhere } from "../../src/scheduler/nomad/meta.ts";
import { signatureOf } from "../../src/sources/directory/paths.ts";
import { debugPrints, stringTypes } from "./v8-debug.ts";

describe("keys and hashes kept per resource", () => {
  it("read as before", () => {
    expect(makeKey("TrainingJob", "team-a", "resnet-50")).toBe("TrainingJob/team-a/resnet-50");
    expect(keyOf({ kind: "TrainingQueue", metadata: { namespace: "ns", name: "gpus" } })).toBe(
      "TrainingQueue/ns/gpus",
    );
    expect(jobWhere("team-a", "mlops-resnet-50-1a2b3c")).toBe("team-a/mlops-resnet-50-1a2b3c");
    const stat = { ino: 42n, size: 413n, mtimeNs: 1796454534637730345n, ctimeNs: 1796454534637730346n };
    // Base 36; the change time only where it is not the modification time.
    expect(signatureOf(stat as never)).toBe("16:bh:dnclzg3dqip5:dnclzg3dqip6");
    expect(signatureOf({ ...stat, ctimeNs: stat.mtimeNs } as never)).toBe("16:bh:dnclzg3dqip5");
    // Each part tells: a change of any of them (or of ctime alone) is another signature.
    const all = [
      stat,
      { ...stat, ino: 43n },
      { ...stat, size: 414n },
      { ...stat, mtimeNs: stat.mtimeNs + 1n },
    ];
    expect(new Set(all.map((s) => signatureOf(s as never))).size).toBe(4);
    expect(hashOf({ a: 1 })).toBe("015abd7f5cc57a2d"); // sha256 of {"a":1}, cut
    expect(hashOf({ a: 1 }, 64)).toHaveLength(64);
  });

  it("are flat strings in V8, where the same template literal makes a rope", () => {
    const out = debugPrints(
      {
        "../../src/api/resources.ts": "keyOf, makeKey",
        "../../src/scheduler/nomad/meta.ts": "jobWhere",
        "../../src/sources/directory/paths.ts": "signatureOf",
        "../../src/api/hash.ts": "hashOf",
      },
      `const [ns, name, id] = process.argv.slice(-3);
      %DebugPrint(\`TrainingJob/\${ns}/\${name}\`);
      %DebugPrint(makeKey("TrainingJob", ns, name));
      %DebugPrint(keyOf({ kind: "TrainingJob", metadata: { namespace: ns, name } }));
      %DebugPrint(jobWhere(ns, id));
      %DebugPrint(signatureOf({ ino: 2310211n, size: 368n, mtimeNs: 1796454534637730345n, ctimeNs: 1796454534637730345n }));
      %DebugPrint(hashOf({ name }));`,
      ["team-a", "job-1234", "mlops-job-1234-1a2b3c"],
    );
    const [template, ...ours] = stringTypes(out);
    expect(template).toBe("CONS_ONE_BYTE_STRING_TYPE");
    expect(ours).toEqual(Array(5).fill("SEQ_ONE_BYTE_STRING_TYPE"));
  });
});

// A restarted operator reads each resource's spec hash from disk twice (its generation entry and its
// status record) and computes it once more from the file: the three hold one string, the computed
// one, not three copies of the same 64 characters (V8's view, %DebugPrint's addresses).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { TrainingJob } from "../../src/api/resources.ts";
import { StateStore } from "../../src/sources/state/index.ts";
import { debugPrints } from "../api/v8-debug.ts";

const root = mkdtempSync(join(tmpdir(), "mlops-shared-hash-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The heap address of each value %DebugPrint printed, in order. */
const addresses = (out: string): string[] =>
  [...out.matchAll(/^DebugPrint: (0x[0-9a-f]+)/gm)].map((m) => m[1] ?? "");

const STATE = { "../../src/sources/state/index.ts": "Generations, StateStore" };

describe("a spec hash read back from the state directory", () => {
  it("the generation entry keeps the caller's string when the hash is unchanged", () => {
    const script = `
      const dir = process.argv.at(-1);
      const key = "TrainingJob/team-a/job-1";
      const first = new Generations(dir);
      first.observe(key, "ab".repeat(32), new Date());
      await first.flush();
      await first.close();
      const again = new Generations(dir);
      // A hash as the source computes it: a string of its own, equal to the one on disk.
      const hash = JSON.parse(JSON.stringify({ h: "ab".repeat(32) })).h;
      %DebugPrint(again.get(key).specHash);
      %DebugPrint(hash);
      const entry = again.observe(key, hash, new Date());
      if (entry.generation !== 1) throw new Error("bumped: " + entry.generation);
      %DebugPrint(entry.specHash);
      %DebugPrint(hash);
      await again.close();`;
    const [fromDisk, caller, kept, callerNow] = addresses(
      debugPrints(STATE, script, [join(root, "generations")]),
    );
    expect(fromDisk).not.toBe(caller);
    // Printed one after the other: a collection between two prints could move a string.
    expect(kept).toBe(callerNow);
  });

  it("the status record takes the caller's string for the same hash, and keeps its own for another", async () => {
    const dir = join(root, "state");
    const writer = new StateStore(dir);
    for (const name of ["same", "other"])
      await writer.writeStatus(
        {
          apiVersion: "mlops.dev/v1alpha1",
          kind: "TrainingJob",
          metadata: { name, namespace: "team-a", generation: 1 },
          spec: { image: "registry.local/train:1", replicas: 1 } as TrainingJob["spec"],
        },
        { phase: "Running" },
      );
    await writer.close();
    const script = `
      const store = new StateStore(process.argv.at(-1));
      const changes = store.recordChanges().subscribe(() => {});
      const same = "TrainingJob/team-a/same";
      const other = "TrainingJob/team-a/other";
      const record = store.readSync(same);
      const otherRecord = store.readSync(other);
      const hash = JSON.parse(JSON.stringify({ h: record.specHash })).h;
      %DebugPrint(record.specHash);
      %DebugPrint(hash);
      store.shareSpecHash(same, hash);
      %DebugPrint(store.recorded(same).specHash);
      %DebugPrint(hash);
      const ownHash = otherRecord.specHash;
      store.shareSpecHash(other, "0".repeat(64));
      if (store.recorded(other).specHash !== ownHash) throw new Error("another hash replaced the record's");
      changes.unsubscribe();
      await store.close();`;
    const [fromDisk, caller, kept, callerNow] = addresses(debugPrints(STATE, script, [dir]));
    expect(fromDisk).not.toBe(caller);
    expect(kept).toBe(callerNow);
  });
});

// Bounded scale for the directory source: 50,000 small files (resources and other YAML) in 100
// directories are read, pruned only by rule, and a hostile entry among them still blocks prunes.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DirectorySource } from "../../src/sources/directory/index.ts";
import { StateStore } from "../../src/sources/state/index.ts";

const FILES = 50_000;
const RESOURCES = 1_000;
let root: string;
let dir: string;

const job = (name: string) =>
  `apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata:\n  name: ${name}\nspec:\n  image: img:1\n`;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "mlops-scale-"));
  dir = join(root, "repo");
  for (let d = 0; d < 100; d++) mkdirSync(join(dir, `d${d}`), { recursive: true });
  for (let i = 0; i < FILES; i++) {
    const path = join(dir, `d${i % 100}`, `f${i}.yaml`);
    writeFileSync(path, i < RESOURCES ? job(`j${i}`) : `kind: Other\nvalue: ${i}\n`);
  }
  // Writing the files is not what is measured: 5 s in a quiet hour, over 10 s (vitest's default
  // hook timeout) on a loaded machine.
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function once(stateDir: string) {
  const store = new StateStore(stateDir);
  const source = new DirectorySource({ dir, store, once: true, settleMs: 50 });
  const t0 = performance.now();
  await source.start();
  const ms = performance.now() - t0;
  return { source, store, ms };
}

describe(`${FILES.toLocaleString("en")} small files`, () => {
  it("are read in a bounded time; a hostile entry among them still blocks the prune", async () => {
    const stateDir = join(root, "state");
    const first = await once(stateDir);
    expect(first.source.list("TrainingJob")).toHaveLength(RESOURCES);
    expect(first.ms).toBeLessThan(60_000);
    await first.source.close();
    await first.store.close();
    rmSync(join(dir, "d7", "f7.yaml"));
    writeFileSync(join(dir, "d42", "zz.yaml"), Buffer.from([0xff, 0xfe, 0]));
    const second = await once(stateDir);
    expect(second.source.lookup("TrainingJob/default/j7").state).not.toBe("deleted");
    expect(second.source.pruneReport().unreadable.map((u) => u.file)).toEqual([join(dir, "d42", "zz.yaml")]);
    await second.source.close();
    await second.store.close();
    rmSync(join(dir, "d42", "zz.yaml"));
    const third = await once(stateDir);
    expect(third.source.lookup("TrainingJob/default/j7").state).toBe("deleted");
    expect(third.source.list("TrainingJob")).toHaveLength(RESOURCES - 1);
    await third.source.close();
    await third.store.close();
    console.info(
      `50,000 files: full reads ${[first.ms, second.ms, third.ms].map((m) => Math.round(m)).join(", ")} ms`,
    );
  }, 120_000);
});

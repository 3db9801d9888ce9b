// Seeded fault injection on a watched tree: for ~two seconds, files are damaged, replaced, removed,
// turned into FIFOs and links out of the tree, a subdirectory is deleted and recreated, every few
// milliseconds. The tree is never quiet for a settle interval, so nothing may be pruned; once it is
// restored, every resource is present; a deliberate removal is then pruned after the settle interval.
import { execFileSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ResourceKey } from "../../src/api/resources.ts";
import { DirectorySource } from "../../src/sources/directory/index.ts";
import { StateStore } from "../../src/sources/state/index.ts";

const SEED = 20_261_204;
const FILES = 20;
/** Operations, 2–9 ms apart: about two seconds during which the tree is never quiet for long. */
const OPERATIONS = 300;
/** Far longer than any pause between operations, even on a loaded machine. */
const SETTLE_MS = 1000;

let root: string;
let dir: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "mlops-churn-"));
  dir = join(root, "repo");
  mkdirSync(join(dir, "sub"), { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** mulberry32: a small seeded PRNG, so a failure replays with the same operations. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const job = (name: string, image = "img:1") =>
  `apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata:\n  name: ${name}\nspec:\n  image: ${image}\n`;
const key = (i: number): ResourceKey => `TrainingJob/default/r${i}`;
const fileOf = (i: number) => join(dir, i % 2 === 0 ? "" : "sub", `r${i}.yaml`);

function restore(i: number): void {
  mkdirSync(join(dir, "sub"), { recursive: true });
  rmSync(fileOf(i), { force: true, recursive: true });
  writeFileSync(fileOf(i), job(`r${i}`));
}

const OPS: Record<string, (i: number, random: () => number) => void> = {
  edit: (i, random) => writeFileSync(fileOf(i), job(`r${i}`, `img:${Math.floor(random() * 5)}`)),
  binary: (i) => writeFileSync(fileOf(i), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1])),
  truncate: (i) => truncateSync(fileOf(i), 0),
  whitespace: (i) => writeFileSync(fileOf(i), " \n\n"),
  unparsable: (i) => writeFileSync(fileOf(i), `${job(`r${i}`)}  bogus: [\n`),
  remove: (i) => rmSync(fileOf(i)),
  fifo: (i) => {
    rmSync(fileOf(i));
    execFileSync("mkfifo", [fileOf(i)]);
  },
  linkOut: (i) => {
    rmSync(fileOf(i));
    symlinkSync("/etc/passwd", fileOf(i));
  },
  linkLoop: (i) => {
    rmSync(fileOf(i));
    symlinkSync(fileOf(i), fileOf(i));
  },
  atomicReplace: (i) => {
    writeFileSync(`${fileOf(i)}.tmp`, job(`r${i}`));
    renameSync(`${fileOf(i)}.tmp`, fileOf(i));
  },
  subdirectoryGone: () => rmSync(join(dir, "sub"), { recursive: true, force: true }),
};

describe("seeded churn: nothing is pruned while the tree keeps changing", () => {
  it(`${OPERATIONS} hostile operations a few ms apart (seed ${SEED})`, async () => {
    for (let i = 0; i < FILES; i++) restore(i);
    const store = new StateStore(join(root, "state"));
    const source = new DirectorySource({ dir, store, settleMs: SETTLE_MS });
    const deleted: ResourceKey[] = [];
    source.changes().subscribe((k) => {
      if (source.lookup(k).state === "deleted") deleted.push(k);
    });
    await source.start();
    const random = prng(SEED);
    const names = Object.keys(OPS);
    const tried: Record<string, number> = {};
    try {
      for (let n = 0; n < OPERATIONS; n++) {
        const i = Math.floor(random() * FILES);
        const op = names[Math.floor(random() * names.length)] as string;
        restore(i);
        (OPS[op] as (i: number, r: () => number) => void)(i, random);
        tried[op] = (tried[op] ?? 0) + 1;
        await new Promise((r) => setTimeout(r, 2 + Math.floor(random() * 8)));
      }
      expect(deleted).toEqual([]);
      // Restored: every resource is back and nothing was lost.
      for (let i = 0; i < FILES; i++) restore(i);
      const settled = Date.now() + 10_000;
      while (Date.now() < settled && !(source.settled() && source.list("TrainingJob").length === FILES))
        await new Promise((r) => setTimeout(r, 20));
      expect(source.list("TrainingJob")).toHaveLength(FILES);
      expect(deleted).toEqual([]);
      // A deliberate removal, then a quiet tree: pruned after the settle interval.
      rmSync(fileOf(3));
      const pruned = Date.now() + 10_000;
      while (Date.now() < pruned && source.lookup(key(3)).state !== "deleted")
        await new Promise((r) => setTimeout(r, 20));
      expect(deleted).toEqual([key(3)]);
      expect(Object.keys(tried).sort()).toEqual(names.sort());
    } finally {
      await source.close();
      await store.close();
    }
  }, 30_000);
});

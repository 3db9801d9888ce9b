import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileReads, type OkDocument } from "../../src/sources/directory/file-reads.ts";
import type { FileLoad } from "../../src/sources/yaml/index.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mlops-file-reads-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** What the source's table says of each clean file: its one valid document, as its claim records it. */
const claimed = new Map<string, OkDocument>();
const fromClaim = (file: string) => claimed.get(file);
const claim = (load: FileLoad | undefined | "unchanged") => {
  const only = typeof load === "object" ? load.documents[0] : undefined;
  if (typeof load === "object" && only?.ok) claimed.set(load.file, { ...only });
};
afterEach(() => claimed.clear());

const job = (name: string) =>
  `apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata:\n  name: ${name}\nspec:\n  image: img:1\n`;

describe("FileReads", () => {
  it("keeps each load while its file is unchanged, and only that long", () => {
    const file = join(dir, "a.yaml");
    writeFileSync(file, job("a"));
    const reads = new FileReads({ keepLoads: true });
    const load = reads.read(file, dir, true);
    claim(load);
    expect(load).toMatchObject({ file, ours: true, documents: [{ ok: true }] });
    if (load === undefined || load === "unchanged") throw new Error("not read");
    // A clean file is kept as its signature: the load comes back equal, around the claim's document.
    expect(reads.unchangedLoad(file, fromClaim)).toStrictEqual(load);
    expect(reads.unchangedLoad(file, fromClaim)?.documents[0]).toBe(claimed.get(file));
    expect(reads.read(file, dir, false)).toBe("unchanged");
    expect(reads.unchangedLoad(file, fromClaim)).toStrictEqual(load);
    // No claim of that document (the table says otherwise): read it again.
    expect(reads.unchangedLoad(file, () => undefined)).toBeUndefined();

    writeFileSync(file, job("a-changed-and-longer"));
    expect(reads.unchangedLoad(file, fromClaim)).toBeUndefined();
    const again = reads.read(file, dir, false);
    claim(again);
    expect(again).not.toBe("unchanged");
    expect(reads.unchangedLoad(file, fromClaim)).toStrictEqual(again);
  });

  it("keeps a load that is more than one valid document whole: problems, skipped documents, several", () => {
    const reads = new FileReads({ keepLoads: true });
    const files = {
      invalid: `${job("bad")}  replicas: -1\n`,
      skipped: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n${job("s")}`,
      several: `${job("one")}---\n${job("two")}`,
      empty: "",
    };
    for (const [name, text] of Object.entries(files)) {
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, text);
      const load = reads.read(file, dir, true);
      expect(load, name).toBeDefined();
      expect(load, name).not.toMatchObject({ documents: [{ ok: true }], skipped: 0, fileIssues: [] });
      // Kept whole: the table's document is not asked for.
      expect(
        reads.unchangedLoad(file, () => expect.fail(`${name}: asked for a claim`)),
        name,
      ).toBe(load);
    }
  });

  it("forgets files a full read did not list, and files gone when read", () => {
    const a = join(dir, "a.yaml");
    const b = join(dir, "b.yaml");
    writeFileSync(a, job("a"));
    writeFileSync(b, job("b"));
    const reads = new FileReads({ keepLoads: true });
    claim(reads.read(a, dir, true));
    claim(reads.read(b, dir, true));
    reads.keepOnly(new Set([b]));
    expect(reads.unchangedLoad(a, fromClaim)).toBeUndefined();
    expect(reads.unchangedLoad(b, fromClaim)).toMatchObject({ documents: [{ ok: true }] });
    expect(reads.read(a, dir, false)).not.toBe("unchanged");
    rmSync(b);
    expect(reads.read(b, dir, true)).toBeUndefined();
    expect(reads.unchangedLoad(b, fromClaim)).toBeUndefined();
  });

  it("keeps no load unless asked to (a watching operator holds only signatures)", () => {
    const file = join(dir, "a.yaml");
    writeFileSync(file, job("a"));
    const reads = new FileReads({ keepLoads: false });
    claim(reads.read(file, dir, true));
    expect(claimed.get(file)).toMatchObject({ ok: true });
    expect(reads.read(file, dir, false)).toBe("unchanged");
    expect(reads.unchangedLoad(file, fromClaim)).toBeUndefined();
  });

  it("signs what it read, also through a link and for an entry it did not open", () => {
    const reads = new FileReads({ keepLoads: false });
    writeFileSync(join(dir, "one.yaml"), job("one"));
    writeFileSync(join(dir, "two.yaml"), job("two"));
    const link = join(dir, "link.yaml");
    symlinkSync("one.yaml", link);
    expect(reads.read(link, dir, true)).toMatchObject({ documents: [{ ok: true }] });
    expect(reads.read(link, dir, false)).toBe("unchanged");
    // The link now leads to another file: read again.
    unlinkSync(link);
    symlinkSync("two.yaml", link);
    expect(reads.read(link, dir, false)).toMatchObject({ documents: [{ ok: true }] });
    // A directory named like a resource file is not opened; it is signed all the same.
    const folder = join(dir, "folder.yaml");
    mkdirSync(folder);
    expect(reads.read(folder, dir, true)).toMatchObject({ fileIssues: [{ message: /directory/ }] });
    expect(reads.read(folder, dir, false)).toBe("unchanged");
  });
});

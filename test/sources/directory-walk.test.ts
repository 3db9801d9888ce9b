// walkTree names each file as join(directory, name) would, however the walked directory is spelled.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { walkTree } from "../../src/sources/directory/walk.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mlops-walk-"));
  mkdirSync(join(dir, "team-a", "deep"), { recursive: true });
  for (const file of ["a.yaml", "team-a/b.yml", "team-a/deep/c.yaml", "team-a/notes.txt", ".hidden.yaml"])
    writeFileSync(join(dir, file), "");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("walkTree", () => {
  it("lists the YAML files with the paths join gives, for any spelling of the directory", async () => {
    const expected = ["a.yaml", "team-a/b.yml", "team-a/deep/c.yaml"];
    const rel = relative(process.cwd(), dir);
    for (const given of [dir, `${dir}/`, `${dir}//team-a/..`, rel, `./${rel}/`]) {
      const tree = await walkTree(given, { root: dir });
      expect(tree.files.sort(), given).toEqual(expected.map((f) => join(given, f)).sort());
    }
  });
});

// StatusFolderWatch: one fs.watch per status folder (status, kind, namespace), never one per record
// file, and the record files that changed, relative to the status folder.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { StatusFolderWatch } from "../../src/sources/state/folder-watch.ts";

const dirs: string[] = [];
const watches: StatusFolderWatch[] = [];
afterEach(() => {
  for (const w of watches.splice(0)) w.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function stateDir(namespaces: readonly string[], files: number): string {
  const dir = mkdtempSync(join(tmpdir(), "mlops-folder-watch-"));
  dirs.push(dir);
  for (const ns of namespaces) {
    mkdirSync(join(dir, "status", "trainingjob", ns), { recursive: true });
    for (let i = 0; i < files; i++)
      writeFileSync(join(dir, "status", "trainingjob", ns, `job-${i}.json`), "{}");
  }
  return dir;
}

function collect(dir: string) {
  const seen: (readonly string[] | "rescan")[] = [];
  let gone = 0;
  const watch = new StatusFolderWatch(dir, { onChange: (f) => seen.push(f), onGone: () => gone++ });
  watches.push(watch);
  return { watch, seen, gone: () => gone };
}

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("StatusFolderWatch", () => {
  it("watches folders, not files: 1 + kinds + namespaces whatever the number of records", () => {
    const { watch } = collect(stateDir(["a", "b", "c"], 300));
    expect(watch.size).toBe(1 + 1 + 3);
  });

  it("reports a record written by rename, relative to the status folder", async () => {
    const dir = stateDir(["a"], 3);
    const { seen } = collect(dir);
    const folder = join(dir, "status", "trainingjob", "a");
    writeFileSync(join(folder, ".job-1.json.tmp"), '{"x":1}');
    renameSync(join(folder, ".job-1.json.tmp"), join(folder, "job-1.json"));
    await until(() => seen.flat().includes(join("trainingjob", "a", "job-1.json")));
    expect(seen).not.toContain("rescan");
  });

  it("watches a namespace folder created later and asks for a rescan (records may predate its watch)", async () => {
    const dir = stateDir(["a"], 1);
    const { watch, seen } = collect(dir);
    mkdirSync(join(dir, "status", "trainingjob", "new"));
    await until(() => seen.includes("rescan"));
    expect(watch.size).toBe(4);
    seen.length = 0;
    writeFileSync(join(dir, "status", "trainingjob", "new", "job-9.json"), "{}");
    await until(() => seen.flat().includes(join("trainingjob", "new", "job-9.json")));
  });

  it("says so when the status folder goes, and refuses a state directory without one", async () => {
    const dir = stateDir(["a"], 1);
    const { gone } = collect(dir);
    rmSync(join(dir, "status"), { recursive: true });
    await until(() => gone() === 1);
    expect(() => new StatusFolderWatch(dir, { onChange: () => {}, onGone: () => {} })).toThrow(
      /cannot watch/,
    );
  });
});

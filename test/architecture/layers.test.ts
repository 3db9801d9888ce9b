// The shape of src/: layers that import downwards only. Every import counts, type-only ones too
// (a type import is still a dependency a reader has to follow).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const SRC = join(ROOT, "src");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return files(path);
    return entry.endsWith(".ts") ? [path] : [];
  });
}

const all = files(SRC);
const folderOf = (path: string): string => relative(SRC, path).split("/")[0] ?? "";

/** Every relative import or re-export of a file, resolved to the file it names. */
function importsOf(path: string): string[] {
  const text = readFileSync(path, "utf8");
  const out: string[] = [];
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+["'](\.[^"']+)["']/g)) {
    out.push(normalize(join(dirname(path), match[1] as string)));
  }
  for (const match of text.matchAll(/\bimport\(\s*["'](\.[^"']+)["']\s*\)/g)) {
    out.push(normalize(join(dirname(path), match[1] as string)));
  }
  return out;
}

const edges = new Map<string, Map<string, string[]>>();
for (const file of all) {
  const from = folderOf(file);
  for (const target of importsOf(file)) {
    if (!target.startsWith(SRC)) continue;
    const to = folderOf(target);
    if (to === from || to.endsWith(".ts")) continue;
    const byTarget = edges.get(from) ?? new Map<string, string[]>();
    byTarget.set(to, [...(byTarget.get(to) ?? []), `${relative(ROOT, file)} → ${relative(ROOT, target)}`]);
    edges.set(from, byTarget);
  }
}

describe("layers of src/", () => {
  it("reads the import graph", () => {
    expect(edges.get("cli")?.has("controller")).toBe(true);
  });

  it("no two top-level folders import each other", () => {
    const mutual: string[] = [];
    for (const [a, targets] of edges) {
      for (const [b, why] of targets) {
        const back = edges.get(b)?.get(a);
        if (back && a < b) mutual.push(`${a} ⇄ ${b}:\n  ${[...why, ...back].join("\n  ")}`);
      }
    }
    expect(mutual).toEqual([]);
  });

  it("src/clients/ imports nothing of ours but src/api/ and src/observability/", () => {
    const outside = [...(edges.get("clients") ?? new Map<string, string[]>())]
      .filter(([to]) => to !== "api" && to !== "observability")
      .flatMap(([, why]) => why);
    expect(outside).toEqual([]);
  });

  it("src/api/ and src/observability/ import no other layer (observability may use api)", () => {
    const api = [...(edges.get("api") ?? new Map<string, string[]>())].flatMap(([, why]) => why);
    const observability = [...(edges.get("observability") ?? new Map<string, string[]>())]
      .filter(([to]) => to !== "api")
      .flatMap(([, why]) => why);
    expect([...api, ...observability]).toEqual([]);
  });

  it("no file in src/ is over 400 lines (generated files excepted)", () => {
    const long = all
      .filter((file) => !file.includes(`${join("src", "api", "generated")}`))
      .map((file) => ({
        file: relative(ROOT, file),
        lines: readFileSync(file, "utf8").trimEnd().split("\n").length,
      }))
      .filter(({ lines }) => lines > 400);
    expect(long).toEqual([]);
  });
});

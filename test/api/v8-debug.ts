// V8's own view of values (%DebugPrint), from a child process with natives syntax: how a string or
// an array is laid out, which no JavaScript API tells.
import { spawnSync } from "node:child_process";
import { expect } from "vitest";

/** What `%DebugPrint` writes for `script`, run after `imports` (module specifiers → names), with `args`. */
export function debugPrints(imports: Record<string, string>, script: string, args: string[] = []): string {
  const lines = Object.entries(imports).map(
    ([from, names]) => `import { ${names} } from ${JSON.stringify(new URL(from, import.meta.url).href)};`,
  );
  const flags = ["--allow-natives-syntax", "--disable-warning=ExperimentalWarning", "--input-type=module"];
  const source = `${lines.join("\n")}\n${script}`;
  const r = spawnSync(process.execPath, [...flags, "-e", source, ...args], {
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

/** The string types %DebugPrint names, in order (SEQ_ONE_BYTE_STRING_TYPE, CONS_ONE_BYTE_STRING_TYPE, …). */
export const stringTypes = (out: string): string[] =>
  [...out.matchAll(/- type: (\w+)/g)].map((m) => m[1] ?? "");

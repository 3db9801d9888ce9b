// A small HCL writer for agent configuration (Nomad reads HCL; its JSON form differs for blocks).
// Values: strings, numbers, booleans, string lists; nested objects become blocks; a key of the form
// `plugin "docker"` is written as a labelled block.

export type HclValue = string | number | boolean | readonly string[] | HclBody;
export interface HclBody {
  readonly [key: string]: HclValue | undefined;
}

function literal(value: string | number | boolean | readonly string[]): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return `[${value.map((v) => JSON.stringify(v)).join(", ")}]`;
}

function isBody(value: HclValue): value is HclBody {
  return typeof value === "object" && !Array.isArray(value);
}

export function toHcl(body: HclBody, indent = ""): string {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (value === undefined) continue;
    if (isBody(value)) {
      lines.push(`${indent}${key} {`);
      const inner = toHcl(value, `${indent}  `);
      if (inner !== "") lines.push(inner.replace(/\n$/, ""));
      lines.push(`${indent}}`);
    } else {
      lines.push(`${indent}${key} = ${literal(value as string | number | boolean | readonly string[])}`);
    }
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

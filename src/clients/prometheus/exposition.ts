// Prometheus's text exposition format (version 0.0.4), parsed far enough to read gauges: one sample
// per line `name{label="value",...} value [timestamp]`, comments and blank lines skipped.
import type { Sample } from "./client.ts";

export class ExpositionError extends Error {
  readonly reason = "InvalidExposition";
  constructor(message: string) {
    super(message);
    this.name = "ExpositionError";
  }
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+(-?\d+))?\s*$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;

/** The samples of `text` whose name is in `names` (all when omitted); `where` names the source in errors. */
export function parseExposition(text: string, where: string, names?: ReadonlySet<string>): Sample[] {
  const out: Sample[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? "").trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new ExpositionError(`${where}:${i + 1}: not a sample line: ${line.slice(0, 120)}`);
    const name = match[1] as string;
    if (names && !names.has(name)) continue;
    const value = parseValue(match[3] as string);
    if (value === undefined) throw new ExpositionError(`${where}:${i + 1}: ${name} has no numeric value`);
    out.push({
      metric: { __name__: name, ...labelsOf(match[2] ?? "", `${where}:${i + 1}`) },
      value,
      timestamp: match[4] === undefined ? Number.NaN : Number(match[4]),
    });
  }
  return out;
}

function parseValue(text: string): number | undefined {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  if (text === "NaN") return Number.NaN;
  const value = Number(text);
  return Number.isNaN(value) ? undefined : value;
}

function labelsOf(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const start = LABEL.lastIndex;
    const match = LABEL.exec(text);
    if (!match) {
      if (text.slice(start).trim() === "") break;
      throw new ExpositionError(`${where}: malformed labels {${text.slice(0, 120)}}`);
    }
    labels[match[1] as string] = (match[2] as string).replace(/\\(.)/g, (_, c: string) =>
      c === "n" ? "\n" : c,
    );
  }
  return labels;
}

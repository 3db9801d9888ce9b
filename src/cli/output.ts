// Terminal output shared by mlopsctl commands: kubectl-like tables, ages and YAML/JSON printing.
// Every value that came from a user is made printable here (no newline or escape sequence).
import { createRequire } from "node:module";
import { printable, printableText } from "../observability/printable.ts";

// `yaml` (72 CommonJS files) only for -o yaml: tables and JSON print without it.
const require = createRequire(import.meta.url);
let yaml: typeof import("yaml") | undefined;

/** Columns left-aligned and separated by three spaces (kubectl's tabwriter padding). */
export function table(headers: readonly string[], cells: readonly (readonly string[])[]): string {
  const rows = cells.map((row) => row.map(printable));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 3)))
      .join("")
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join("\n")}\n`;
}

/**
 * A titled table as kubectl describe prints one: "Title:", then the headers, a dashed line under
 * each and the rows, indented by two spaces.
 */
export function section(
  title: string,
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const dashes = headers.map((h) => "-".repeat(h.length));
  const body = table(headers, [dashes, ...rows])
    .split("\n")
    .map((line) => (line === "" ? line : `  ${line}`))
    .join("\n");
  return `${title}:\n${body}`;
}

/**
 * kubectl's age (k8s.io/apimachinery duration.HumanDuration): "45s", "3m20s", "42m", "5h30m",
 * "3d4h", "400d", "2y30d"; "<invalid>" more than a second in the future.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

/** Age of an RFC 3339 timestamp at `now`; "<unknown>" without one. */
export function age(timestamp: string | undefined, now: Date): string {
  if (!timestamp) return "<unknown>";
  const then = Date.parse(timestamp);
  return Number.isNaN(then) ? "<unknown>" : humanDuration(now.getTime() - then);
}

export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 4)}\n`;
}

export function toYaml(value: unknown): string {
  yaml ??= require("yaml") as typeof import("yaml");
  return printableText(yaml.stringify(value, { lineWidth: 0 }));
}

/** "memoryMB" → "Memory MB", "observedGeneration" → "Observed Generation" (kubectl describe's keys). */
export function titleCase(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .split(/[\s_-]+/)
    .filter((w) => w !== "");
  return words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(" ");
}

/** Nested data as kubectl describe prints custom resources: "Key:  value", nested blocks indented. */
export function describeValue(value: unknown, indent = 0): string {
  const pad = " ".repeat(indent);
  if (value === null || typeof value !== "object") return `${pad}${printable(String(value))}\n`;
  if (Array.isArray(value)) {
    return value.map((item) => describeValue(item, indent)).join("");
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  const width = Math.max(0, ...entries.filter(([, v]) => !isBlock(v)).map(([k]) => titleCase(k).length + 1));
  let out = "";
  for (const [key, v] of entries) {
    const label = `${printable(titleCase(key))}:`;
    if (isBlock(v)) out += `${pad}${label}\n${describeValue(v, indent + 2)}`;
    else out += `${pad}${label.padEnd(width + 2)}${printable(String(v))}\n`;
  }
  return out;
}

function isBlock(value: unknown): boolean {
  return value !== null && typeof value === "object";
}

export function plural(count: number, word: string, words = `${word}s`): string {
  return `${count} ${count === 1 ? word : words}`;
}

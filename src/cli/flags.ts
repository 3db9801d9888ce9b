// Flag parsers shared by commands: bad values are usage errors that name the value.
import { EXIT, ExitError } from "./exit.ts";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "90s", "5m", "1h30m", "250ms", or a bare number of seconds → milliseconds. */
export function parseDuration(value: string): number {
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== value) {
    throw new ExitError(EXIT.usage, `invalid duration "${value}": use for example 90s, 5m or 1h30m`);
  }
  return parts.reduce((total, p) => total + Number(p[1]) * (UNITS[p[2] as string] ?? 0), 0);
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new ExitError(EXIT.usage, `expected a whole number ≥ 1, got "${value}"`);
  return n;
}

export function parseBool(value: string): boolean {
  if (value === "true" || value === "false") return value === "true";
  throw new ExitError(EXIT.usage, `expected true or false (got "${value}")`);
}

export function parseFraction(value: string): number {
  const n = Number(value);
  if (value.trim() !== "" && Number.isFinite(n) && n >= 0 && n <= 1) return n;
  throw new ExitError(EXIT.usage, `expected a number from 0 to 1 (got "${value}")`);
}

export function parseCount(value: string): number {
  const n = Number(value);
  if (/^\d+$/.test(value) && Number.isSafeInteger(n)) return n;
  throw new ExitError(EXIT.usage, `expected a whole number ≥ 0 (got "${value}")`);
}

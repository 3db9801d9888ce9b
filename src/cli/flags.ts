// Flag parsers shared by commands. Given to commander (`.option(flags, text, parse)`), a bad value
// is commander's usage error, which names the option and the value: "option '--concurrency <n>'
// argument '0' is invalid. expected a whole number ≥ 1". A value read outside commander (an
// option a command checks itself) goes through flagValue, which names them the same way.
import { InvalidArgumentError, Option } from "commander";
import type { SchedulerMode } from "../trainingjob/resolver.ts";
import { EXIT, ExitError } from "./exit.ts";

/**
 * `parse(value)` for a flag a command reads itself: a bad value is a usage error naming the flag
 * and the value, as commander's own.
 */
export function flagValue<T>(flag: string, value: string, parse: (value: string) => T): T {
  try {
    return parse(value);
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) throw error;
    throw new ExitError(EXIT.usage, `option '${flag}' argument '${value}' is invalid. ${error.message}`);
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "90s", "5m", "1h30m", "250ms", or a bare number of seconds → milliseconds. */
export function parseDuration(value: string): number {
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== value) {
    throw new InvalidArgumentError("expected a duration such as 90s, 5m, 1h30m or 250ms");
  }
  return parts.reduce((total, p) => total + Number(p[1]) * (UNITS[p[2] as string] ?? 0), 0);
}

/** Milliseconds as parseDuration reads them back: 300000 → "5m", 2500 → "2500ms". */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * A duration flag whose help shows its default as a duration: "(default: 5m)", not "(default:
 * 300000)", which the flag itself would read as 300000 seconds.
 */
export function durationOption(flags: string, text: string, defaultMs: number): Option {
  return new Option(flags, text).argParser(parseDuration).default(defaultMs, formatDuration(defaultMs));
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a whole number ≥ 1");
  return n;
}

export function parseBool(value: string): boolean {
  if (value === "true" || value === "false") return value === "true";
  throw new InvalidArgumentError("expected true or false");
}

export function parseFraction(value: string): number {
  const n = Number(value);
  if (value.trim() !== "" && Number.isFinite(n) && n >= 0 && n <= 1) return n;
  throw new InvalidArgumentError("expected a number from 0 to 1");
}

export function parseCount(value: string): number {
  const n = Number(value);
  if (/^\d+$/.test(value) && Number.isSafeInteger(n)) return n;
  throw new InvalidArgumentError("expected a whole number ≥ 0");
}

export function parseSource(value: string): "directory" | "kubernetes" {
  if (value === "directory" || value === "kubernetes") return value;
  throw new InvalidArgumentError("expected directory or kubernetes");
}

export function parseScheduler(value: string): SchedulerMode {
  if (value === "auto" || value === "docker" || value === "nomad") return value;
  throw new InvalidArgumentError("expected auto, docker or nomad");
}

/** pino's levels: a name it does not know was its own error ("default level:verbose must be included in custom levels"). */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

export function parseLogLevel(value: string): string {
  if ((LOG_LEVELS as readonly string[]).includes(value)) return value;
  throw new InvalidArgumentError(`expected one of ${LOG_LEVELS.join(", ")}`);
}

export function parseLogFormat(value: string): "json" | "pretty" {
  if (value === "json" || value === "pretty") return value;
  throw new InvalidArgumentError("expected json or pretty");
}

/** --log-level, else $MLOPS_LOG_LEVEL (checked as the flag is), else info. */
export function logLevelOf(options: { readonly logLevel?: string }, env: NodeJS.ProcessEnv): string {
  if (options.logLevel !== undefined) return options.logLevel;
  const fromEnv = env.MLOPS_LOG_LEVEL;
  if (fromEnv === undefined || fromEnv === "") return "info";
  if ((LOG_LEVELS as readonly string[]).includes(fromEnv)) return fromEnv;
  throw new ExitError(
    EXIT.usage,
    `MLOPS_LOG_LEVEL="${fromEnv}" is invalid: expected one of ${LOG_LEVELS.join(", ")} (or pass --log-level)`,
  );
}

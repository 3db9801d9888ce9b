// pino: JSON by default, pretty when a terminal is attached; tokens and credentials are redacted
// wherever they appear in a logged object; errors (`err`, `error`) are logged as one line each
// (log-error.ts: type, reason, code, message; no stack, no socket).
import { type Logger, type LoggerOptions as PinoOptions, pino } from "pino";
import { MANAGED_BY } from "../api/names.ts";
import { linesTo } from "./log-destination.ts";
import { errorForLog } from "./log-error.ts";
import { printable } from "./printable.ts";

export const REDACT_PATHS = [
  "token",
  "*.token",
  "headers.authorization",
  "headers.Authorization",
  "*.headers.authorization",
  "*.headers.Authorization",
  'headers["x-nomad-token"]',
  'headers["X-Nomad-Token"]',
  'headers["x-consul-token"]',
  'headers["X-Consul-Token"]',
  "password",
  "*.password",
  "secret",
  "*.secret",
];

export interface LoggerOptions {
  level?: string;
  /** Force pretty (true) or JSON (false); default: pretty when stderr is a terminal. */
  pretty?: boolean;
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.MLOPS_LOG_LEVEL ?? "info";
  const pretty = options.pretty ?? Boolean(process.stderr.isTTY);
  const base = {
    level,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    base: { name: MANAGED_BY },
    serializers: { err: errorForLog, error: errorForLog },
  };
  if (options.destination) return pino(base, options.destination as never);
  if (pretty) {
    return pino({
      ...base,
      hooks: { logMethod: printableArguments },
      transport: {
        target: "pino-pretty",
        options: { destination: 2, colorize: true, ignore: "pid,hostname,name,resource,from,to" },
      },
    });
  }
  return pino(base, linesTo(2) as never);
}

/**
 * A logger for lines whose fields are known not to hold a credential (resource names, phases): the
 * same destination and hooks, without the redaction that every logged field of `log` passes
 * through (one JSON.stringify per field, and the redaction's own walk of its paths).
 */
export function unredacted(log: Logger): Logger {
  return log.child({}, { redact: [] });
}

/**
 * Pretty output goes to a terminal as it is: messages and the string fields of a logged object
 * (file names, reasons, resource names) are made printable first. JSON lines need nothing: JSON
 * escapes every control character.
 */
export const printableArguments: NonNullable<NonNullable<PinoOptions["hooks"]>["logMethod"]> = function (
  args,
  method,
) {
  const safe = (args as unknown[]).map((arg) => {
    if (typeof arg === "string") return printable(arg);
    if (arg === null || typeof arg !== "object" || arg instanceof Error) return arg;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(arg)) out[k] = typeof v === "string" ? printable(v) : v;
    return out;
  });
  return method.apply(this, safe as Parameters<typeof method>);
};

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

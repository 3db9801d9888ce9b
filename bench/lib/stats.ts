// Figures: percentiles (nearest rank), and number formatting for the printed tables.

/** Nearest-rank percentile of `values` (p in 0..100); NaN for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export const ms = (value: number, digits = 1): string => `${value.toFixed(digits)} ms`;
export const s = (valueMs: number): string => `${(valueMs / 1000).toFixed(2)} s`;
export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

/** The median of `values` (the lower middle one of an even count, as percentile 50); NaN for none. */
export const median = (values: readonly number[]): number => percentile(values, 50);

/** `median (min–max)` of repeated measurements, each formatted by `format`. */
export function spread(values: readonly number[], format: (value: number) => string): string {
  if (values.length <= 1) return values.length === 1 ? format(values[0] as number) : "n/a";
  return `${format(median(values))} (${format(Math.min(...values))}–${format(Math.max(...values))})`;
}

/** "ok" or "MISSED" against a target (lower is better). */
export const verdict = (value: number, target: number): string => (value <= target ? "ok" : "MISSED");

/** Prints aligned `label  value  target  verdict` rows. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** `main 6.20 s, V8 helpers 1.80 s, state I/O 1.00 s, libuv pool 0.55 s` (largest first). */
export function byThread(
  threads: Record<string, number> | undefined,
  unit: (ms: number) => string = s,
): string {
  if (!threads) return "n/a";
  const label: Record<string, string> = {
    MainThread: "main",
    V8Worker: "V8 helpers",
    "state-io": "state I/O",
    "libuv-worker": "libuv pool",
  };
  return Object.entries(threads)
    .filter(([, cpuMs]) => cpuMs > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([name, cpuMs]) => `${label[name] ?? name} ${unit(cpuMs)}`)
    .join(", ");
}

// `--repeat N` for a benchmark: N passes one after another, each announced when there are several.
// One pass decides little on a shared 2-core machine (docs/benchmarks.md, rounds 20 and 28); the
// caller prints the median and range of what the passes returned.

/** The number of passes `--repeat` asked for; exits (code 2) with a message naming `benchmark` otherwise. */
export function passCount(benchmark: string, value: string | undefined): number {
  const passes = Number(value);
  if (!Number.isInteger(passes) || passes < 1) {
    process.stderr.write(`${benchmark}: --repeat must be a whole number of passes >= 1, not '${value}'\n`);
    process.exit(2);
  }
  return passes;
}

/** Runs `pass` `passes` times in turn (given its number, from 1); "-- pass i of N" before each when there are several. */
export async function runPasses<T>(passes: number, pass: (i: number) => Promise<T>): Promise<T[]> {
  const done: T[] = [];
  for (let i = 1; i <= passes; i++) {
    if (passes > 1) process.stdout.write(`${i > 1 ? "\n" : ""}-- pass ${i} of ${passes}\n`);
    done.push(await pass(i));
  }
  return done;
}

// `--repeat N` for a benchmark: N passes one after another, each announced when there are several.
// One pass decides little on a shared 2-core machine (docs/benchmarks.md, rounds 20 and 28); the
// caller prints the median and range of what the passes returned.
import { mlopsctlBuild } from "./operator.ts";

/** The number of passes `--repeat` asked for; exits (code 2) with a message naming `benchmark` otherwise. */
export function passCount(benchmark: string, value: string | undefined): number {
  const passes = Number(value);
  if (!Number.isInteger(passes) || passes < 1) {
    process.stderr.write(`${benchmark}: --repeat must be a whole number of passes >= 1, not '${value}'\n`);
    process.exit(2);
  }
  return passes;
}

/**
 * Runs `pass` `passes` times in turn (given its number, from 1); "-- pass i of N" before each when
 * there are several. `bin/mlopsctl` runs the TypeScript sources whenever one is newer than the
 * bundle, so an edit under src/ during a pass changes what the operators it starts run (~14 MB more
 * RSS watching; docs/benchmarks.md, round 30): a pass whose build (`build`, mlopsctlBuild) changed
 * while it ran is said to be so, and passes that ran different builds are said not to compare.
 */
export async function runPasses<T>(
  passes: number,
  pass: (i: number) => Promise<T>,
  build: () => string = mlopsctlBuild,
): Promise<T[]> {
  const done: T[] = [];
  const builds = new Set<string>();
  for (let i = 1; i <= passes; i++) {
    if (passes > 1) process.stdout.write(`${i > 1 ? "\n" : ""}-- pass ${i} of ${passes}\n`);
    const before = build();
    done.push(await pass(i));
    const after = build();
    builds.add(before).add(after);
    if (after !== before)
      process.stdout.write(
        `warning: the operator's build changed during pass ${i} (the ${before} at its start, the ${after} at its end): its operators may have run either\n`,
      );
  }
  if (builds.size > 1)
    process.stdout.write(
      `warning: the passes did not all run one build (${[...builds].join("; ")}): their figures do not compare\n`,
    );
  return done;
}

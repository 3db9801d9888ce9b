// Cleanup for benchmarks: every temp dir and child process registers an undo step here, and main()
// runs the benchmark under a hard time limit, then undoes everything in reverse order, on success,
// on failure and on SIGINT/SIGTERM alike.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

type Step = () => void | Promise<void>;

const steps: Step[] = [];
let running: Promise<void> | undefined;

/** Registers an undo step; the returned function runs it early (and removes it). */
export function onCleanup(step: Step): () => Promise<void> {
  steps.push(step);
  return async () => {
    const at = steps.indexOf(step);
    if (at >= 0) {
      steps.splice(at, 1);
      await step();
    }
  };
}

export function cleanup(): Promise<void> {
  running ??= (async () => {
    while (steps.length > 0) {
      const step = steps.pop();
      try {
        await step?.();
      } catch (error) {
        process.stderr.write(`bench cleanup: ${error instanceof Error ? error.message : String(error)}\n`);
      }
    }
  })();
  return running;
}

/**
 * The operators a benchmark starts record their contexts (`mlopsctl run` makes the directory it
 * watches the current context) under an XDG_STATE_HOME of the benchmark's own, removed with it: in
 * the user's ~/.local/state/mlopsctl, a benchmark left the current context on a directory it had
 * removed, which the user's next `mlopsctl get` then read.
 */
function ownContexts(name: string): void {
  const home = mkdtempSync(join(tmpdir(), `mlops-bench-${name}-xdg-`));
  process.env.XDG_STATE_HOME = home;
  onCleanup(() => rmSync(home, { recursive: true, force: true }));
}

/** Runs `body` with a hard deadline; cleans up afterwards whatever happened; sets the exit code. */
export function main(name: string, limitMs: number, body: () => Promise<void>): void {
  ownContexts(name);
  const timer = setTimeout(() => {
    process.stderr.write(`${name}: time limit of ${Math.round(limitMs / 1000)} s reached; stopping\n`);
    void cleanup().finally(() => process.exit(124));
  }, limitMs);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      process.stderr.write(`${name}: ${signal}; cleaning up\n`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  body()
    .then(
      () => undefined,
      (error: unknown) => {
        process.stderr.write(
          `${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
        );
        process.exitCode = 1;
      },
    )
    .finally(() => {
      clearTimeout(timer);
      void cleanup().finally(() => process.exit());
    });
}

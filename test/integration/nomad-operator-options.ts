// The operator as the integration tests build it in front of the Nomad double: a watched directory,
// its state directory beside it, the Nomad scheduler, no resync, metrics on an ephemeral port, a
// silent log. Each test names what it changes (once, concurrency, owner, prune, ...).
import { buildOperator, type Operator, type OperatorOptions } from "../../src/cli/compose.ts";
import type { IdleSummary } from "../../src/controller/controller.ts";
import { silentLogger } from "../../src/observability/logger.ts";

export function buildNomadOperator(
  options: { readonly dir: string; readonly nomadAddr: string } & Partial<OperatorOptions>,
): Promise<Operator> {
  const { dir, ...rest } = options;
  return buildOperator({
    source: { kind: "directory", dir },
    stateDir: `${dir}-state`,
    once: false,
    concurrency: 2,
    metricsAddr: "127.0.0.1:0",
    scheduler: "nomad",
    startupTimeoutMs: 600_000,
    resyncMs: 0,
    log: silentLogger(),
    ...rest,
  });
}

/** One `run --once` pass of `op`: its source read, every key reconciled until idle, then closed. */
export async function passOnce(op: Operator): Promise<IdleSummary> {
  try {
    await op.source.start();
    return await op.controller.runUntilIdle({ timeoutMs: 20_000 });
  } finally {
    await op.close();
  }
}

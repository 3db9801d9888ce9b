// The operator as the integration tests build it in front of the Nomad double: a watched directory,
// its state directory beside it, the Nomad scheduler, no resync, metrics on an ephemeral port, a
// silent log. Each test names what it changes (once, concurrency, owner, prune, ...).
import { buildOperator, type Operator, type OperatorOptions } from "../../src/cli/compose.ts";
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

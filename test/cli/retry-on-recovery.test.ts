// After an outage, what failed on the server is retried as soon as it answers again
// (retryOnRecovery: readiness → the controller's queue), not at a backoff grown during the outage.
import { afterEach, describe, expect, it, vi } from "vitest";
import { OperatorError } from "../../src/api/errors.ts";
import type { ResourceKey } from "../../src/api/resources.ts";
import { retryOnRecovery } from "../../src/cli/dependencies.ts";
import { Controller } from "../../src/controller/controller.ts";
import { awaitChange } from "../../src/controller/reconcile.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { Readiness } from "../../src/observability/readiness.ts";

afterEach(() => {
  vi.useRealTimers();
});

let controllers = 0;

/** A minute's Nomad outage under a controller of one key; when was the key reconciled after it. */
async function outage(wired: boolean): Promise<number> {
  vi.useFakeTimers({ now: 0 });
  let up = false;
  const calls: number[] = [];
  const controller = new Controller({
    name: `recovery-test-${++controllers}`,
    resyncMs: 0,
    keys: () => ["TrainingJob/default/a" as ResourceKey],
    dispatch: async () => {
      calls.push(Date.now());
      if (!up) throw new OperatorError("NomadUnavailable", "nomad at 127.0.0.1:4646: refused");
      return awaitChange;
    },
  });
  const readiness = new Readiness({ log: silentLogger(), intervalMs: 5_000 }).add({
    name: "nomad http://127.0.0.1:4646",
    critical: true,
    probe: async () => {
      if (!up) throw new OperatorError("NomadUnavailable", "refused");
    },
  });
  if (wired) retryOnRecovery(readiness, controller.queue, silentLogger());
  controller.start();
  await readiness.start();
  await vi.advanceTimersByTimeAsync(60_000);
  up = true;
  await vi.advanceTimersByTimeAsync(120_000);
  readiness.stop();
  await controller.stop();
  return (calls.find((at) => at >= 60_000) as number) - 60_000;
}

describe("retryOnRecovery", () => {
  it("retries a key that failed through a minute's outage within a second of recovery", async () => {
    expect(await outage(true)).toBeLessThanOrEqual(1_100); // readiness looks every second while down
    expect(await outage(false)).toBeGreaterThan(20_000); // its backoff: the next try ~48 s later
  });
});

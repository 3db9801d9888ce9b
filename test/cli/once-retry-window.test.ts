// `run --once` stops retrying a key whose reconcile keeps failing with a retried (transient) error
// for the window: that error comes back stalled (not retried by the controller), with the time it
// failed for. A scheduler's unreachability is left to UnreachableWatch (it ends the whole pass),
// stalled and waiting errors pass as they are, and a success starts the streak again.
import { describe, expect, it } from "vitest";
import { OperatorError, TransientError, WaitingError } from "../../src/api/errors.ts";
import type { ResourceKey } from "../../src/api/resources.ts";
import { OnceRetryWindow } from "../../src/cli/unreachable.ts";
import { awaitChange } from "../../src/controller/reconcile.ts";

const key = "TrainingJob/nowhere/lost" as ResourceKey;

function harness(windowMs = 30_000) {
  let now = 0;
  let next: () => unknown = () => awaitChange;
  const window = new OnceRetryWindow(windowMs, () => now);
  const dispatch = window.wrap(async () => {
    const outcome = next();
    if (outcome instanceof Error) throw outcome;
    return awaitChange;
  });
  const run = async (at: number, outcome: () => unknown, signal = new AbortController().signal) => {
    now = at;
    next = outcome;
    try {
      await dispatch(key, signal);
      return "ok";
    } catch (error) {
      return error as OperatorError;
    }
  };
  return { run };
}

const missing = () => new TransientError("NamespaceNotFound", 'namespace "nowhere" not found');

describe("OnceRetryWindow", () => {
  it("passes a retried error on until it has lasted the window, then gives it up as stalled", async () => {
    const { run } = harness();
    for (const at of [0, 750, 2_250, 29_999]) {
      const error = (await run(at, missing)) as OperatorError;
      expect(error.reason).toBe("NamespaceNotFound");
      expect(error.terminal).toBe(false);
    }
    const given = (await run(30_000, missing)) as OperatorError;
    expect(given.terminal).toBe(true);
    expect(given.reason).toBe("NamespaceNotFound");
    expect(given.message).toBe(
      'namespace "nowhere" not found (failing for 30 s: not retried again in this pass; --unreachable-timeout)',
    );
  });

  it("counts a streak from its first failure: a success starts it again", async () => {
    const { run } = harness();
    await run(0, missing);
    expect(await run(20_000, () => awaitChange)).toBe("ok");
    expect(((await run(25_000, missing)) as OperatorError).terminal).toBe(false);
    expect(((await run(50_000, missing)) as OperatorError).terminal).toBe(false);
    expect(((await run(55_000, missing)) as OperatorError).terminal).toBe(true);
  });

  it("leaves an unreachable scheduler, stalled and waiting errors, and a cancelled reconcile as they are", async () => {
    const { run } = harness(1_000);
    const unreachable = () =>
      new TransientError("NomadUnavailable", "Nomad at http://127.0.0.1:1 is unreachable");
    await run(0, unreachable);
    expect(((await run(60_000, unreachable)) as OperatorError).terminal).toBe(false);
    const waiting = () => new WaitingError("WaitingForStack", "the stack is not ready", 5_000);
    expect(((await run(120_000, waiting)) as OperatorError).errorClass).toBe("waiting");
    const stalled = new OperatorError("InvalidSpec", "bad", { terminal: true });
    expect(await run(130_000, () => stalled)).toBe(stalled);
    const cancelled = new AbortController();
    cancelled.abort();
    await run(200_000, missing, cancelled.signal);
    expect(((await run(300_000, missing, cancelled.signal)) as OperatorError).terminal).toBe(false);
  });
});

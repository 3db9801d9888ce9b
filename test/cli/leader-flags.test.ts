// `run --leader-elect` refuses what cannot work with a clear usage error (exit 64), before anything
// starts: the directory source without Consul, timings client-go would reject.
import { describe, expect, it } from "vitest";
import { EXIT, ExitError } from "../../src/cli/exit.ts";
import { type LeaderFlags, leaderElectorFor } from "../../src/cli/leader.ts";
import { silentLogger } from "../../src/observability/logger.ts";

const defaults: LeaderFlags & { source: "directory" } = {
  source: "directory",
  leaderElect: true,
  leaderElectLeaseDuration: 15_000,
  leaderElectRenewDeadline: 10_000,
  leaderElectRetryPeriod: 2_000,
  leaderElectionSessionTtlMin: 10_000,
};

function usage(run: () => unknown): ExitError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ExitError);
    expect((error as ExitError).code).toBe(EXIT.usage);
    return error as ExitError;
  }
  throw new Error("expected a usage error");
}

describe("leaderElectorFor", () => {
  it("is off without --leader-elect", () => {
    expect(
      leaderElectorFor({ ...defaults, leaderElect: false }, "x", silentLogger(), undefined, {}),
    ).toBeUndefined();
  });

  it("needs Consul with the directory source", () => {
    expect(usage(() => leaderElectorFor(defaults, "x", silentLogger(), undefined, {})).message).toContain(
      "CONSUL_HTTP_ADDR",
    );
  });

  it.each([
    [{ leaderElectRenewDeadline: 15_000 }, "must be greater than the renew deadline"],
    [{ leaderElectRetryPeriod: 9_000 }, "1.2 × the retry period"],
  ])("refuses timings client-go rejects: %j", (timings, message) => {
    const env = { CONSUL_HTTP_ADDR: "127.0.0.1:1" };
    expect(
      usage(() => leaderElectorFor({ ...defaults, ...timings }, "x", silentLogger(), undefined, env)).message,
    ).toContain(message);
  });

  it("names the election mlops-operator-<owner id>, or after the key given", async () => {
    const env = { CONSUL_HTTP_ADDR: "127.0.0.1:1" };
    const byDefault = leaderElectorFor(defaults, "abc", silentLogger(), undefined, env);
    const given = leaderElectorFor(
      { ...defaults, leaderElectionKey: "team/lock" },
      "abc",
      silentLogger(),
      undefined,
      env,
    );
    expect(byDefault?.elector.name).toBe("mlops-operator-abc");
    expect(given?.elector.name).toBe("team/lock");
    await byDefault?.close();
    await given?.close();
  });
});

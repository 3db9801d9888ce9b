// Failed reconciles' log lines (failure-log.ts): a resource's own failure is a line; an outage's
// failures after its first are counted into one line per window, each still a debug line.
import pino from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type Failure, FailureLog, isOutage } from "../../src/controller/failure-log.ts";

afterEach(() => {
  vi.useRealTimers();
});

function capture() {
  const lines: { level: number; msg: string; failures?: number; key?: string }[] = [];
  const log = pino({ level: "debug" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { log, lines, above: (level: number) => lines.filter((l) => l.level >= level).map((l) => l.msg) };
}

const failure = (key: string, reason: string, extra: Partial<Failure> = {}): Failure => ({
  key,
  reason,
  class: "transient",
  retryInMs: 1000,
  terminal: false,
  ...extra,
});

const INFO = 30;

describe("FailureLog", () => {
  it("counts an outage's failures after its first into one line per window, each a debug line", () => {
    vi.useFakeTimers();
    const { log, lines, above } = capture();
    const failures = new FailureLog(log, 30_000);
    for (let i = 0; i < 10_000; i++)
      failures.failed(failure(`TrainingJob/a/j-${i}`, "NomadUnavailable"), "refused");
    expect(above(INFO)).toEqual(["TrainingJob/a/j-0: refused (retry in 1000 ms)"]);
    expect(lines.filter((l) => l.level === 20)).toHaveLength(9_999); // each one at debug
    vi.advanceTimersByTime(30_000);
    expect(above(INFO)).toHaveLength(2);
    expect(lines.at(-1)).toMatchObject({ level: 50, failures: 9_999 });
    expect(lines.at(-1)?.msg).toMatch(
      /^NomadUnavailable: 9999 more failed reconcile\(s\) in 30 s, .*e\.g\. TrainingJob\/a\/j-1: refused/,
    );
    // The outage goes on: the next window counts too; one that counts nothing closes.
    failures.failed(failure("TrainingJob/a/j-1", "NomadUnavailable"), "refused");
    vi.advanceTimersByTime(30_000);
    expect(lines.at(-1)).toMatchObject({ level: 50, failures: 1 });
    vi.advanceTimersByTime(30_000);
    expect(above(INFO)).toHaveLength(3);
    expect(vi.getTimerCount()).toBe(0);
    // After a quiet window the next failure is a line of its own again.
    failures.failed(failure("TrainingJob/a/j-2", "NomadUnavailable"), "refused");
    expect(above(INFO).at(-1)).toBe("TrainingJob/a/j-2: refused (retry in 1000 ms)");
    failures.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("keeps each resource's own failure a line, and each outage reason its own count", () => {
    vi.useFakeTimers();
    const { log, lines, above } = capture();
    const failures = new FailureLog(log, 30_000);
    for (let i = 0; i < 3; i++) {
      failures.failed(failure(`TrainingJob/a/bad-${i}`, "InvalidTaskConfig"), "bad config");
      failures.failed(failure(`TrainingJob/a/j-${i}`, "NomadUnavailable"), "refused");
      failures.failed(failure(`TrainingJob/a/k-${i}`, "GrafanaUnavailable"), "refused");
    }
    failures.failed(failure("TrainingJob/a/t", "InvalidSpec", { terminal: true }), "no image");
    failures.failed(failure("TrainingJob/a/s", "NomadUnavailable", { retryInMs: undefined }), "refused");
    failures.failed(failure("TrainingJob/a/u", "Aborted", { retryInMs: undefined }), "aborted");
    expect(above(INFO)).toEqual([
      "TrainingJob/a/bad-0: bad config (retry in 1000 ms)",
      "TrainingJob/a/j-0: refused (retry in 1000 ms)",
      "TrainingJob/a/k-0: refused (retry in 1000 ms)",
      "TrainingJob/a/bad-1: bad config (retry in 1000 ms)",
      "TrainingJob/a/bad-2: bad config (retry in 1000 ms)",
      "TrainingJob/a/t: no image (not retried)",
    ]);
    failures.close(); // the controller stops: what the windows and the shutdown counted is logged
    expect(above(INFO).at(-1)).toBe(
      "2 reconcile(s) in flight stopped with the controller, not retried (e.g. TrainingJob/a/s: refused)",
    );
    expect(
      lines.filter((l) => l.failures !== undefined).map((l) => [l.msg.split(":")[0], l.failures]),
    ).toEqual([
      ["NomadUnavailable", 2],
      ["GrafanaUnavailable", 2],
    ]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("takes a server that does not answer or fails for an outage, not a resource's own error", () => {
    expect(
      ["NomadUnavailable", "ConsulUnavailable", "DockerUnavailable", "Unavailable", "NomadError"].every(
        isOutage,
      ),
    ).toBe(true);
    expect(["InvalidSpec", "NotOwned", "ImageNotFound", "Error"].some(isOutage)).toBe(false);
  });
});

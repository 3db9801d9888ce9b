import { filter, firstValueFrom } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import {
  checkLeaderTimings,
  LeaderElector,
  LeaderTimingsError,
  type LeaseLock,
} from "../../src/controller/leader.ts";
import { registry } from "../../src/observability/metrics.ts";

/** One lock in memory with a lease that runs out, shared by candidates, as a Lease or Consul lock. */
class MemoryLease {
  holder: string | undefined;
  expiresAt = 0;
  readonly leaseMs: number;
  constructor(leaseMs: number) {
    this.leaseMs = leaseMs;
  }
  lockFor(id: string, broken: { value: boolean } = { value: false }): LeaseLock {
    return {
      description: `memory lock as ${id}`,
      tryAcquireOrRenew: async () => {
        if (broken.value) throw new Error("unreachable");
        const now = performance.now();
        if (this.holder !== undefined && this.holder !== id && now < this.expiresAt) return false;
        this.holder = id;
        this.expiresAt = now + this.leaseMs;
        return true;
      },
      release: async () => {
        if (this.holder === id) this.holder = undefined;
      },
    };
  }
}

const timings = { leaseDurationMs: 600, renewDeadlineMs: 400, retryPeriodMs: 100 };
const electors: LeaderElector[] = [];
afterEach(async () => {
  await Promise.all(electors.splice(0).map((e) => e.release()));
});

function elector(name: string, lock: LeaseLock): LeaderElector {
  const e = new LeaderElector({ name, lock, ...timings });
  electors.push(e);
  e.start();
  return e;
}

const becomes = (e: LeaderElector, leading: boolean) =>
  firstValueFrom(e.leading.pipe(filter((v) => v === leading)));

describe("checkLeaderTimings (client-go's rules)", () => {
  it.each([
    [{ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }, undefined],
    [{ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }, "greater than the renew"],
    [{ leaseDurationMs: 15_000, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }, "1.2 ×"],
    [{ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 0 }, "retry period"],
  ])("%j", (t, message) => {
    if (message === undefined) expect(checkLeaderTimings(t)).toEqual(t);
    else expect(() => checkLeaderTimings(t)).toThrow(LeaderTimingsError);
    if (message !== undefined) expect(() => checkLeaderTimings(t)).toThrow(message);
  });
});

describe("LeaderElector", () => {
  it("exactly one of two candidates leads, and the metric says which", async () => {
    const lease = new MemoryLease(timings.leaseDurationMs);
    const a = elector("ha-test-a", lease.lockFor("a"));
    const b = elector("ha-test-b", lease.lockFor("b"));
    await new Promise((r) => setTimeout(r, 500));
    expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
    const text = await registry.getSingleMetricAsString("leader_election_master_status");
    const leader = a.isLeader ? "a" : "b";
    const follower = a.isLeader ? "b" : "a";
    expect(text).toContain(`leader_election_master_status{name="ha-test-${leader}"} 1`);
    expect(text).toContain(`leader_election_master_status{name="ha-test-${follower}"} 0`);
  });

  it("a follower takes over a released lock at its next retry", async () => {
    const lease = new MemoryLease(timings.leaseDurationMs);
    const a = elector("ha-test-a", lease.lockFor("a"));
    await becomes(a, true);
    const b = elector("ha-test-b", lease.lockFor("b"));
    await new Promise((r) => setTimeout(r, 250));
    expect(b.isLeader).toBe(false);
    const started = performance.now();
    await a.release();
    await becomes(b, true);
    expect(performance.now() - started).toBeLessThan(timings.retryPeriodMs + 100);
  });

  it("a leader that cannot renew gives up before its renew deadline ends, before the lease runs out", async () => {
    const lease = new MemoryLease(timings.leaseDurationMs);
    const broken = { value: false };
    const a = elector("ha-test-a", lease.lockFor("a", broken));
    await becomes(a, true);
    const lastRenew = lease.expiresAt - timings.leaseDurationMs;
    broken.value = true;
    const lost = await new Promise<number>((resolve) =>
      a.leading.subscribe({ complete: () => resolve(performance.now()) }),
    );
    expect(a.isLeader).toBe(false);
    // Leadership ends at the renew deadline (give or take a timer tick), well before the lease expires.
    expect(lost - lastRenew).toBeLessThan(timings.renewDeadlineMs + 50);
    expect(lost).toBeLessThan(lease.expiresAt);
  });

  it("a leader whose renewal hangs gives up at the deadline, not when the request ends", async () => {
    const lease = new MemoryLease(timings.leaseDurationMs);
    let hang = false;
    const lock = lease.lockFor("a");
    const hanging: LeaseLock = {
      description: "hanging",
      tryAcquireOrRenew: (signal) =>
        hang ? new Promise(() => signal.throwIfAborted()) : lock.tryAcquireOrRenew(signal),
      release: () => lock.release(),
    };
    const a = elector("ha-test-a", hanging);
    await becomes(a, true);
    const lastRenew = lease.expiresAt - timings.leaseDurationMs;
    hang = true;
    await becomes(a, false);
    expect(performance.now() - lastRenew).toBeLessThan(timings.renewDeadlineMs + 50);
  });
});

// LeaderElector over ConsulSessionLock against the Consul double: one of two candidates leads; a
// leader cut off from Consul gives up by its renew deadline, while its session (hence the lock)
// is still valid, so no other candidate can lead while it might write; a released lock is taken
// over at the next retry (no lock delay applies to a release).
import { filter, firstValueFrom } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { ConsulClient } from "../../src/clients/consul/client.ts";
import { ConsulSessionLock } from "../../src/clients/consul/lock.ts";
import { LeaderElector } from "../../src/controller/leader.ts";
import { type ConsulDouble, startConsulDouble } from "../doubles/consul/server.ts";

const timings = { leaseDurationMs: 1_000, renewDeadlineMs: 600, retryPeriodMs: 200 };
const KEY = "mlops-operator/leader/test";
let consul: ConsulDouble;
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await consul?.setOutage("none");
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await consul?.close();
});

function candidate(name: string): { elector: LeaderElector; lock: ConsulSessionLock } {
  const client = new ConsulClient({
    address: consul.url.replace("http://", ""),
    env: {},
    retries: 0,
    timeoutMs: 500,
  });
  const lock = new ConsulSessionLock(client, {
    key: KEY,
    holder: name,
    leaseDurationMs: timings.leaseDurationMs,
    sessionTtlMinMs: 100,
  });
  const elector = new LeaderElector({ name: `consul-${name}`, lock, ...timings });
  cleanups.push(async () => {
    await elector.release();
    await client.close();
  });
  elector.start();
  return { elector, lock };
}

const becomes = (e: LeaderElector, leading: boolean) =>
  firstValueFrom(e.leading.pipe(filter((v) => v === leading)), { defaultValue: false });

describe("LeaderElector on a Consul session lock", () => {
  it("elects one; the lock's session has half the lease as TTL", async () => {
    consul = await startConsulDouble({ sessionTtlMinMs: 100 });
    const a = candidate("a");
    const b = candidate("b");
    await new Promise((r) => setTimeout(r, 700));
    expect([a.elector.isLeader, b.elector.isLeader].filter(Boolean)).toHaveLength(1);
    const leader = a.elector.isLeader ? a : b;
    expect(consul.sessions.get(KEY)?.Session).toBe(leader.lock.session);
    expect(consul.sessions.session(leader.lock.session ?? "")?.TTL).toBe("500ms");
  });

  it("a leader that cannot reach Consul stops leading by its renew deadline, while its lock still holds", async () => {
    consul = await startConsulDouble({ sessionTtlMinMs: 100 });
    const a = candidate("a");
    await becomes(a.elector, true);
    const session = a.lock.session as string;
    await consul.setOutage("stall");
    const cutOff = performance.now();
    await becomes(a.elector, false);
    // The last renewal was at most one retry period before the cut-off.
    expect(performance.now() - cutOff).toBeLessThanOrEqual(timings.renewDeadlineMs + 50);
    expect(consul.sessions.session(session)).toBeDefined();
    expect(consul.sessions.get(KEY)?.Session).toBe(session);
  });

  it("a released lock goes to the follower at its next retry", async () => {
    consul = await startConsulDouble({ sessionTtlMinMs: 100 });
    const a = candidate("a");
    await becomes(a.elector, true);
    const b = candidate("b");
    await new Promise((r) => setTimeout(r, 300));
    const started = performance.now();
    await a.elector.release();
    await becomes(b.elector, true);
    expect(performance.now() - started).toBeLessThan(timings.retryPeriodMs + 150);
  });
});

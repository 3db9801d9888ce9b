// LeaderElector over a coordination.k8s.io/v1 Lease on the Kubernetes API double, driven by the real
// @kubernetes/client-node: the Lease created once, renewed with resourceVersion (a racing candidate
// gets 409 Conflict and follows); a leader that vanishes without releasing is taken over once the
// lease duration has passed on the follower's clock; a released Lease is taken over at once.
import { filter, firstValueFrom } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LeaderElector, type LeaseLock } from "../../src/controller/leader.ts";
import { KubeLeaseLock } from "../../src/sources/kubernetes/lease.ts";
import { KubernetesDouble } from "../doubles/kubernetes/index.ts";

const timings = { leaseDurationMs: 1_000, renewDeadlineMs: 700, retryPeriodMs: 200 };
let kube: KubernetesDouble;
const electors: LeaderElector[] = [];

beforeEach(async () => {
  kube = new KubernetesDouble();
  await kube.start();
});

afterEach(async () => {
  await Promise.all(electors.splice(0).map((e) => e.release()));
  await kube.close();
});

/** A candidate; `kill()` makes it vanish as a killed process does: no renewal, no release. */
function candidate(holder: string): { elector: LeaderElector; kill(): void } {
  const lock = new KubeLeaseLock(kube.kubeConfig(), {
    namespace: "mlops-system",
    name: "mlops-operator",
    holder,
    leaseDurationMs: timings.leaseDurationMs,
  });
  let dead = false;
  const killable: LeaseLock = {
    description: lock.description,
    tryAcquireOrRenew: (signal) => (dead ? new Promise(() => {}) : lock.tryAcquireOrRenew(signal)),
    release: () => (dead ? Promise.resolve() : lock.release()),
  };
  const elector = new LeaderElector({ name: `lease-${holder}`, lock: killable, ...timings });
  electors.push(elector);
  elector.start();
  return {
    elector,
    kill: () => {
      dead = true;
    },
  };
}

const becomes = (e: LeaderElector, leading: boolean) =>
  firstValueFrom(e.leading.pipe(filter((v) => v === leading)), { defaultValue: false });

describe("LeaderElector on a Kubernetes Lease", () => {
  it("elects exactly one of two candidates and records it in the Lease", async () => {
    const a = candidate("a");
    const b = candidate("b");
    await new Promise((r) => setTimeout(r, 800));
    expect([a.elector.isLeader, b.elector.isLeader].filter(Boolean)).toHaveLength(1);
    const lease = kube.leases.get("mlops-system", "mlops-operator");
    expect(lease?.spec.holderIdentity).toBe(a.elector.isLeader ? "a" : "b");
    expect(lease?.spec.leaseDurationSeconds).toBe(1);
    expect(kube.leases.writes.create).toBe(1);
    expect(kube.leases.writes.update).toBeGreaterThan(0); // renewals
  });

  it("takes over a vanished leader once the lease duration has passed, within lease + 2 s", async () => {
    const a = candidate("a");
    await becomes(a.elector, true);
    const b = candidate("b");
    await new Promise((r) => setTimeout(r, 400));
    expect(b.elector.isLeader).toBe(false);
    const killed = performance.now();
    a.kill();
    await becomes(b.elector, true);
    const after = performance.now() - killed;
    expect(after).toBeGreaterThanOrEqual(timings.leaseDurationMs - timings.retryPeriodMs);
    expect(after).toBeLessThan(timings.leaseDurationMs + 2_000);
    const lease = kube.leases.get("mlops-system", "mlops-operator");
    expect(lease?.spec).toMatchObject({ holderIdentity: "b", leaseTransitions: 1 });
  });

  it("a stale resourceVersion loses the race with 409 Conflict", async () => {
    const lock = (holder: string) =>
      new KubeLeaseLock(kube.kubeConfig(), {
        namespace: "ns",
        name: "race",
        holder,
        leaseDurationMs: 1_000,
      });
    const signal = new AbortController().signal;
    expect(await lock("a").tryAcquireOrRenew(signal)).toBe(true);
    // Both read the expired-by-release Lease; only the first update lands.
    const a = lock("a");
    await a.tryAcquireOrRenew(signal);
    await a.release();
    const [b, c] = await Promise.all([
      lock("b").tryAcquireOrRenew(signal),
      lock("c").tryAcquireOrRenew(signal),
    ]);
    expect([b, c].filter(Boolean)).toHaveLength(1);
    expect(kube.leases.writes.conflicts).toBe(1);
  });

  it("a released Lease goes to the follower at its next retry", async () => {
    const a = candidate("a");
    await becomes(a.elector, true);
    const b = candidate("b");
    await new Promise((r) => setTimeout(r, 300));
    const started = performance.now();
    await a.elector.release();
    await becomes(b.elector, true);
    expect(performance.now() - started).toBeLessThan(timings.retryPeriodMs + 300);
  });
});

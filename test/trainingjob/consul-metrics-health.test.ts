// ConsulMetricsHealth against the Consul double: one blocking query for everything, health per
// resource from service Meta, change emission, index reset, outages and stalls with recovery.
import { afterEach, describe, expect, it } from "vitest";
import type { ResourceKey } from "../../src/api/resources.ts";
import { ConsulClient } from "../../src/clients/consul/client.ts";
import { watchRestarts } from "../../src/observability/metrics.ts";
import { ConsulMetricsHealth } from "../../src/trainingjob/adapters/consul-metrics-health.ts";
import { nomadServiceRegistration } from "../doubles/consul/fixtures.ts";
import { type ConsulDouble, startConsulDouble } from "../doubles/consul/server.ts";

const A: ResourceKey = "TrainingJob/default/a";
const B: ResourceKey = "TrainingJob/ml/b";

let double: ConsulDouble;
let client: ConsulClient;
let watcher: ConsulMetricsHealth;
let seen: ResourceKey[];

async function setup(
  tune: {
    waitMs?: number;
    client?: (c: ConsulClient) => ConstructorParameters<typeof ConsulMetricsHealth>[0]["client"];
  } = {},
): Promise<void> {
  double = await startConsulDouble({ waitJitter: false });
  client = new ConsulClient({
    address: double.url,
    env: {},
    retries: 0,
    timeoutMs: 1_000,
    stallMarginMs: 200,
  });
  watcher = new ConsulMetricsHealth({
    client: tune.client ? tune.client(client) : client,
    waitMs: tune.waitMs ?? 2_000,
    minIntervalMs: 10,
    backoffMs: { initial: 50, max: 200 },
  });
  seen = [];
  watcher.changes().subscribe((key) => seen.push(key));
}

afterEach(async () => {
  await watcher?.close();
  await client?.close();
  await double?.close();
});

/** Polls until `check` holds (bounded: 3 s). */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function restarts(cause: string): Promise<number> {
  const metric = await watchRestarts.get();
  return (
    metric.values.find((v) => v.labels.watch === "consul-health" && v.labels.cause === cause)?.value ?? 0
  );
}

const reg = (namespace: string, name: string, allocId: string, status?: "passing" | "warning" | "critical") =>
  nomadServiceRegistration({ namespace, name, allocId, ...(status ? { status } : {}) });

describe("ConsulMetricsHealth", () => {
  it("aggregates the worst status per resource from service Meta and emits changed keys only", async () => {
    await setup();
    const a1 = reg("default", "a", "a1a1");
    const a2 = reg("default", "a", "a2a2");
    double.state.registerService(a1);
    double.state.registerService(a2);
    double.state.registerService(reg("ml", "b", "b1b1", "passing"));
    double.state.registerService({ Name: "unowned", Tags: ["mlops-operator"], Check: { TTL: "10s" } });
    await watcher.nextSync();
    expect(watcher.health(A)).toEqual({ status: "critical", instances: 2, output: "" });
    expect(watcher.health(B)).toEqual({ status: "passing", instances: 1, output: "" });
    expect(new Set(seen)).toEqual(new Set([A, B]));

    seen.length = 0;
    double.state.setServiceHealth(a1.ID as string, "passing", "HTTP GET: 200 OK");
    double.state.setServiceHealth(a2.ID as string, "critical", "connection refused");
    await until(() => watcher.health(A)?.output === "connection refused", "A's failing output");
    expect(watcher.health(A)?.status).toBe("critical");
    double.state.setServiceHealth(a2.ID as string, "passing", "HTTP GET: 200 OK");
    await until(() => watcher.health(A)?.status === "passing", "A passing");
    expect(seen.every((k) => k === A)).toBe(true);
    expect(seen.length).toBeGreaterThanOrEqual(1);
  });

  it("uses one blocking query for all resources, not one per job, and does not spin when idle", async () => {
    await setup({ waitMs: 300 });
    for (let i = 0; i < 20; i++)
      double.state.registerService(reg("default", `job-${i}`, `alloc${i}`, "passing"));
    await watcher.nextSync();
    const before = double.requests.get("GET /v1/health/state/:state") ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const during = (double.requests.get("GET /v1/health/state/:state") ?? 0) - before;
    expect(during).toBeGreaterThanOrEqual(2); // wait elapses, query again
    expect(during).toBeLessThanOrEqual(5); // ~1 per 300 ms wait, no busy loop
    expect(double.requests.get("GET /v1/health/checks/:service")).toBeUndefined();
    // Owners resolved in bulk from the agent listing: one call, no per-service catalog lookups.
    expect(double.requests.get("GET /v1/agent/services")).toBe(1);
    expect(double.requests.get("GET /v1/catalog/service/:service")).toBeUndefined();
  });

  it("forgets a resource whose services are deregistered and emits its key", async () => {
    await setup();
    const a1 = reg("default", "a", "a1a1", "passing");
    double.state.registerService(a1);
    await until(() => watcher.health(A) !== undefined, "A known");
    seen.length = 0;
    double.state.deregisterService(a1.ID as string);
    await until(() => watcher.health(A) === undefined, "A forgotten");
    expect(seen).toEqual([A]);
  });

  it("resolves a few new instances through the catalog by service name, without listing the agent", async () => {
    await setup();
    double.state.registerService(reg("ml", "b", "b1b1", "warning"));
    await until(() => watcher.health(B)?.status === "warning", "B via the catalog");
    expect(double.requests.get("GET /v1/catalog/service/:service")).toBe(1);
    expect(double.requests.get("GET /v1/agent/services")).toBeUndefined();
  });

  it("falls back to the catalog when a bulk agent listing does not know the instances", async () => {
    await setup({
      client: (c) => ({
        checksInState: c.checksInState.bind(c),
        catalogService: c.catalogService.bind(c),
        agentServices: async () => ({}), // registered through another agent
      }),
    });
    for (let i = 0; i < 20; i++) double.state.registerService(reg("ml", `j${i}`, `al${i}`, "passing"));
    await until(() => watcher.health("TrainingJob/ml/j19") !== undefined, "all 20 via the catalog");
    expect(double.requests.get("GET /v1/catalog/service/:service")).toBe(20);
  });

  it("resets the index when it goes backwards (snapshot restore) and keeps following changes", async () => {
    await setup();
    const a1 = reg("default", "a", "a1a1", "passing");
    double.state.registerService(a1);
    for (let i = 0; i < 5; i++)
      double.state.setServiceHealth(a1.ID as string, i % 2 ? "passing" : "warning", `n${i}`);
    await until(() => watcher.index >= 7, "index past the restore point");
    const resetsBefore = await restarts("IndexReset");
    double.state.restoreSnapshot(2);
    await until(() => watcher.index === 2, "index follows the restored one");
    expect(await restarts("IndexReset")).toBe(resetsBefore + 1);
    double.state.setServiceHealth(a1.ID as string, "critical", "after restore");
    await until(() => watcher.health(A)?.output === "after restore", "change after the restore");
  });

  it("keeps the last known health through an outage, reports ConsulUnavailable, and recovers", async () => {
    await setup({ waitMs: 200 });
    const a1 = reg("default", "a", "a1a1", "passing");
    double.state.registerService(a1);
    await until(() => watcher.health(A)?.status === "passing", "A passing");
    await double.setOutage("refuse");
    await until(() => watcher.lastError?.reason === "ConsulUnavailable", "outage noticed");
    expect(watcher.health(A)?.status).toBe("passing");
    double.state.setServiceHealth(a1.ID as string, "critical", "down while Consul was away");
    const attempts = double.requests.get("GET /v1/health/state/:state") ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 500));
    await double.setOutage("none");
    await until(() => watcher.health(A)?.status === "critical", "change seen after recovery");
    expect(watcher.lastError).toBeUndefined();
    expect(seen.filter((k) => k === A).length).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThan(50);
  });

  it("restarts a stalled query and recovers when Consul answers again", async () => {
    await setup({ waitMs: 200 });
    double.state.registerService(reg("default", "a", "a1a1", "passing"));
    await watcher.nextSync();
    const stallsBefore = await restarts("Stall");
    await double.setOutage("stall");
    await until(() => watcher.lastError?.reason === "ConsulUnavailable", "stall detected");
    expect(await restarts("Stall")).toBe(stallsBefore + 1);
    await double.setOutage("none");
    double.state.registerService(reg("ml", "b", "b1b1", "passing"));
    await until(() => watcher.health(B) !== undefined && watcher.lastError === undefined, "recovered");
  });

  it("closes promptly while a blocking query is pending", async () => {
    await setup({ waitMs: 60_000 });
    await watcher.nextSync();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await watcher.close();
    expect(Date.now() - started).toBeLessThan(500);
  });
});

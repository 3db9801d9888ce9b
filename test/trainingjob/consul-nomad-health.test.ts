// Nomad registers a running allocation's services in Consul; ConsulMetricsHealth reads them back as
// the health of the owning TrainingJob. The Nomad double (with the real render) registers in the
// Consul double in process (its onServices hook) or over HTTP, as a Nomad client does.
import { afterEach, describe, expect, it } from "vitest";
import type { ResourceKey } from "../../src/api/resources.ts";
import { ConsulClient } from "../../src/clients/consul/client.ts";
import { NomadClient } from "../../src/clients/nomad/index.ts";
import { NomadScheduler } from "../../src/scheduler/nomad/index.ts";
import { ConsulMetricsHealth } from "../../src/trainingjob/adapters/consul-metrics-health.ts";
import { assertConsul } from "../contract/consul-schemas.ts";
import { type ConsulDouble, startConsulDouble } from "../doubles/consul/server.ts";
import { runRequest } from "../doubles/nomad/fixtures.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";

const KEY: ResourceKey = "TrainingJob/team-a/resnet";

let consul: ConsulDouble;
let nomad: NomadDouble;
let consulClient: ConsulClient;
let nomadClient: NomadClient;
let scheduler: NomadScheduler;
let watcher: ConsulMetricsHealth;

async function setup(via: "hook" | "http"): Promise<void> {
  consul = await startConsulDouble({ waitJitter: false });
  nomad = await startNomadDouble({
    namespaces: ["team-a"],
    ...(via === "hook" ? { onServices: consul.servicesHook() } : { consul: consul.url }),
  });
  consulClient = new ConsulClient({ address: consul.url, env: {}, retries: 0 });
  nomadClient = new NomadClient({ address: nomad.address }, {});
  scheduler = new NomadScheduler({ client: nomadClient, ownerId: "owner-1" });
  watcher = new ConsulMetricsHealth({ client: consulClient, waitMs: 2_000, minIntervalMs: 10 });
}

afterEach(async () => {
  await watcher?.close();
  await scheduler?.close();
  await nomadClient?.close();
  await consulClient?.close();
  await nomad?.close();
  await consul?.close();
});

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.each(["hook", "http"] as const)("Nomad-registered services → TrainingJob health (%s)", (via) => {
  it("follows the replicas' checks from registration to deregistration", async () => {
    await setup(via);
    const seen: ResourceKey[] = [];
    watcher.changes().subscribe((key) => seen.push(key));
    await scheduler.submit(runRequest({ replicas: 2, metrics: { port: 9100, path: "/metrics" } }));
    const allocs = nomad.allocations("team-a", "resnet");
    expect(allocs).toHaveLength(2);
    for (const alloc of allocs) nomad.lifecycle.running(alloc.ID);

    await until(() => watcher.health(KEY)?.instances === 2, "both replicas registered");
    expect(watcher.health(KEY)?.status).toBe("critical"); // Consul starts HTTP checks critical
    // What Nomad sent over HTTP is the documented register body.
    for (const request of consul.recorded) assertConsul("registration", request.body);
    expect(consul.recorded.length).toBe(via === "http" ? 2 : 0);
    const services = consul.state.services();
    expect(
      services.every((s) => s.ID.startsWith("_nomad-task-") && s.Meta["external-source"] === "nomad"),
    ).toBe(true);

    for (const s of services) consul.state.setServiceHealth(s.ID, "passing", "HTTP GET: 200 OK");
    await until(() => watcher.health(KEY)?.status === "passing", "passing");
    consul.state.setServiceHealth(services[1]?.ID ?? "", "critical", "dial tcp: connection refused");
    await until(() => watcher.health(KEY)?.status === "critical", "one replica failing");
    expect(watcher.health(KEY)?.output).toBe("dial tcp: connection refused");

    for (const alloc of allocs) nomad.lifecycle.exit(alloc.ID, { exitCode: 0 });
    await until(() => watcher.health(KEY) === undefined, "services deregistered");
    expect(new Set(seen)).toEqual(new Set([KEY]));
    expect(consul.state.services()).toEqual([]);
  });
});

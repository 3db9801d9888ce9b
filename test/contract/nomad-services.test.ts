// Like real Nomad, the Nomad double registers each running allocation's declared services in Consul
// (over Consul's HTTP agent API) and removes them when the allocation stops; checked here against the
// Consul double, and the standalone entry (main.ts) with --auto-run shows real movement.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { NomadClient } from "../../src/clients/nomad/index.ts";
import { NomadScheduler } from "../../src/scheduler/nomad/index.ts";
import { type ConsulDouble, startConsulDouble } from "../doubles/consul/index.ts";
import { runRequest } from "../doubles/nomad/fixtures.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";

async function until(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("Nomad double → Consul service registration", () => {
  let consul: ConsulDouble;
  let nomad: NomadDouble;
  let client: NomadClient;
  afterEach(async () => {
    await client.close();
    await nomad.close();
    await consul.close();
  });

  it("registers each running allocation's service over HTTP and deregisters it when it ends", async () => {
    consul = await startConsulDouble();
    nomad = await startNomadDouble({ consul: consul.url, namespaces: ["team-a"] });
    client = new NomadClient({ address: nomad.address }, {});
    const scheduler = new NomadScheduler({ client, ownerId: "owner-1", network: "mlops-network" });
    await scheduler.submit(runRequest({ replicas: 2, metrics: { port: 9100, path: "/metrics" } }));
    const allocs = nomad.allocations("team-a", "resnet");
    for (const a of allocs) nomad.lifecycle.running(a.ID);
    await until(() => consul.state.services().length === 2);
    const services = consul.state.services();
    expect(services.map((s) => s.ID).sort()).toEqual(
      allocs.map((a) => `_nomad-task-${a.ID}-main-${services[0]?.Service}-metrics`).sort(),
    );
    expect(services[0]).toMatchObject({
      Port: 9100, // address_mode driver: the container's port
      Tags: expect.arrayContaining(["mlops-operator", "prometheus"]),
      Meta: expect.objectContaining({
        "external-source": "nomad",
        metrics_path: "/metrics",
        mlops_name: "resnet",
      }),
    });
    nomad.lifecycle.exit(allocs[0]?.ID ?? "", { exitCode: 0 });
    await until(() => consul.state.services().length === 1);
    await scheduler.purge(runRequest().key);
    await until(() => consul.state.services().length === 0);
    expect(nomad.services.errors).toEqual([]);
  });
});

describe("test/doubles/nomad/main.ts", () => {
  it("runs standalone; --auto-run moves allocations to running by themselves", async () => {
    const child = spawn(
      process.execPath,
      ["test/doubles/nomad/main.ts", "--listen", "127.0.0.1:0", "--auto-run"],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    try {
      const [line] = (await once(child.stdout, "data")) as [Buffer];
      const address = /listening on (\S+)/.exec(line.toString())?.[1] ?? "";
      expect(address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const nomadClient = new NomadClient({ address }, {});
      const scheduler = new NomadScheduler({ client: nomadClient, ownerId: "owner-1" });
      await scheduler.submit(
        runRequest({}, { key: { kind: "TrainingJob", namespace: "default", name: "auto" } }),
      );
      await until(async () => {
        const run = await scheduler.observe({ kind: "TrainingJob", namespace: "default", name: "auto" });
        return run?.replicas[0]?.state === "running";
      });
      await nomadClient.close();
    } finally {
      child.kill("SIGTERM");
      await once(child, "exit");
    }
  });
});

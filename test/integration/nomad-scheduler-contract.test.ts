// The Scheduler contract (test/scheduler/contract/scheduler-contract.ts) against the Nomad
// scheduler and the Nomad double, whose allocations run as real containers on the local engine
// (DockerExecutor, as the stand-in Nomad runs them): the trainer's exit code, output and a missing
// image reach the scheduler as a Nomad client reports them (task events, allocation logs).
import { randomBytes } from "node:crypto";
import { connectDocker } from "../../src/clients/docker/connect.ts";
import { NomadClient } from "../../src/clients/nomad/client.ts";
import { NomadScheduler } from "../../src/scheduler/nomad/scheduler.ts";
import { DockerExecutor } from "../doubles/nomad/docker-executor.ts";
import { startNomadDouble } from "../doubles/nomad/server.ts";
import { schedulerContract } from "../scheduler/contract/scheduler-contract.ts";
import { TEST_LABELS } from "./docker-harness.ts";

schedulerContract("nomad", { capabilities: {} }, async () => {
  const suite = `contract-nomad-${randomBytes(3).toString("hex")}`;
  const labels = { ...TEST_LABELS, "mlops.dev/test-suite": suite };
  const nomad = await startNomadDouble({
    namespaces: ["contract"],
    heartbeatMs: 200,
    executor: new DockerExecutor({ labels }),
  });
  const clients: NomadClient[] = [];
  const schedulers: NomadScheduler[] = [];
  const make = (ownerId: string): NomadScheduler => {
    const client = new NomadClient({ address: nomad.address }, {});
    const scheduler = new NomadScheduler({ client, ownerId, events: { backoffBaseMs: 50 } });
    clients.push(client);
    schedulers.push(scheduler);
    return scheduler;
  };
  const ownerId = `it-${suite}`;
  return {
    scheduler: make(ownerId),
    ownerId,
    namespace: "contract",
    another: async (owner) => make(owner),
    async cleanup() {
      await Promise.all(schedulers.map((s) => s.close()));
      await Promise.all(clients.map((c) => c.close()));
      await nomad.close();
      // The executor removes what it tracks; anything left (a start racing the close) goes by label.
      const conn = await connectDocker();
      const left = await conn.docker.listContainers({
        all: true,
        filters: { label: [`mlops.dev/test-suite=${suite}`] },
      });
      await Promise.all(
        left.map((c) =>
          conn.docker
            .getContainer(c.Id)
            .remove({ force: true })
            .catch(() => undefined),
        ),
      );
    },
  };
});

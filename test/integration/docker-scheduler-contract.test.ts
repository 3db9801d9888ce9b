// The Scheduler contract (test/scheduler/contract/scheduler-contract.ts) against the Docker
// scheduler on the real engine: one container per replica, labels as the record.

import { schedulerContract } from "../scheduler/contract/scheduler-contract.ts";
import { dockerHarness } from "./docker-harness.ts";

schedulerContract("docker", { capabilities: {} }, async () => {
  const h = await dockerHarness("contract");
  return {
    scheduler: h.scheduler,
    ownerId: h.ownerId,
    namespace: "it",
    another: (ownerId) => h.another(ownerId),
    cleanup: () => h.cleanup(),
  };
});

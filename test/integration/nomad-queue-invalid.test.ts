// A TrainingQueue whose document stops validating admits nothing new, as a deleted one, and says so
// on its waiting jobs at once: they had kept the reason of the queue's last valid spec (a job Queued
// for WaitingForQuota went on saying so while its queue was InvalidSpec). Its admitted run is not
// stopped, and once the document is valid again its waiting jobs are admitted by the new quota.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findCondition } from "../../src/api/conditions.ts";
import { makeKey, type TrainingJob } from "../../src/api/resources.ts";
import type { Operator } from "../../src/cli/compose.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { until } from "../polling.ts";
import { buildNomadOperator } from "./nomad-operator-options.ts";
import { queuedJobYaml as job, queueYaml as queue } from "./queue-files.ts";

let nomad: NomadDouble;
let dir = "";
const owner = `it-queue-invalid-${process.pid}`;

beforeAll(async () => {
  nomad = await startNomadDouble();
  dir = await mkdtemp(join(tmpdir(), "mlops-queue-invalid-"));
  await writeFile(join(dir, "queue.yaml"), queue("one", 1));
  await writeFile(join(dir, "a.yaml"), job("a", "one"));
  await writeFile(join(dir, "b.yaml"), job("b", "one"));
});

afterAll(async () => {
  await nomad?.close();
  await rm(dir, { recursive: true, force: true });
  await rm(`${dir}-state`, { recursive: true, force: true });
});

describe("a TrainingQueue whose document turns invalid", () => {
  it("tells its waiting jobs QueueNotFound at once, keeps its admitted run, and admits again once valid", async () => {
    const op: Operator = await buildNomadOperator({
      dir,
      concurrency: 4,
      ownerId: owner,
      nomadAddr: nomad.address,
    });
    const get = (name: string) => op.source.get(makeKey("TrainingJob", "default", name)) as TrainingJob;
    const admittedReason = (name: string) => findCondition(get(name)?.status?.conditions, "Admitted")?.reason;
    const registered = () => ["a", "b"].filter((n) => nomad.allocations("default", n).length > 0);
    try {
      await op.source.start();
      op.controller.start();
      const [running] = await until("one run registered", () =>
        registered().length > 0 ? registered() : undefined,
      );
      const waiting = running === "a" ? "b" : "a";
      await until(`${waiting} waits for quota`, () => admittedReason(waiting) === "WaitingForQuota");

      await writeFile(join(dir, "queue.yaml"), queue("one", -1));
      const queueKey = makeKey("TrainingQueue", "default", "one");
      await until("the queue's document invalid", () => op.source.lookup(queueKey).state === "invalid");
      await until(`${waiting} QueueNotFound`, () => admittedReason(waiting) === "QueueNotFound", 5_000);
      expect(get(waiting)?.status?.phase).toBe("Queued");
      expect(registered()).toEqual([running]);
      const job = nomad.state.job("default", nomad.allocations("default", running as string)[0]?.JobID ?? "");
      expect(job?.Stop).not.toBe(true);
      expect(get(running as string)?.status?.phase).not.toBe("Queued");

      await writeFile(join(dir, "queue.yaml"), queue("one", 2));
      await until(`${waiting} registered`, () => (registered().includes(waiting) ? true : undefined));
      expect(admittedReason(waiting)).toBe("Admitted");
    } finally {
      await op.controller.stop();
      await op.close();
    }
  }, 30_000);
});

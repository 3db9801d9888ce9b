// The operator end to end with a TrainingQueue over a watched directory and the Nomad double: a run
// is registered only once its queue admits it; a finished run admits the next; a job whose file is
// edited to name another queue is admitted there (the gate's index follows the directory's changes),
// and a waiting job's position follows the runs admitted ahead of it.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeKey, type TrainingJob } from "../../src/api/resources.ts";
import type { Operator } from "../../src/cli/compose.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { until } from "../polling.ts";
import { buildNomadOperator } from "./nomad-operator-options.ts";
import { queuedJobYaml as job, queueYaml as queue } from "./queue-files.ts";

let nomad: NomadDouble;
let dir = "";
const owner = `it-queue-${process.pid}`;

beforeAll(async () => {
  nomad = await startNomadDouble();
  dir = await mkdtemp(join(tmpdir(), "mlops-queue-"));
  await writeFile(join(dir, "queues.yaml"), `${queue("one", 1)}---\n${queue("none", 0)}`);
  await writeFile(join(dir, "a.yaml"), job("a", "one"));
  await writeFile(join(dir, "b.yaml"), job("b", "one"));
  await writeFile(join(dir, "c.yaml"), job("c", "none"));
});

afterAll(async () => {
  await nomad?.close();
  await rm(dir, { recursive: true, force: true });
  await rm(`${dir}-state`, { recursive: true, force: true });
});

describe("TrainingQueue on Nomad", () => {
  it("registers one run at a time, admits the next when one finishes, and follows a job moved to another queue", async () => {
    const op: Operator = await buildNomadOperator({
      dir,
      concurrency: 4,
      ownerId: owner,
      nomadAddr: nomad.address,
    });
    const get = (name: string) => op.source.get(makeKey("TrainingJob", "default", name)) as TrainingJob;
    const registered = () => ["a", "b", "c"].filter((n) => nomad.allocations("default", n).length > 0);
    const finish = async (name: string) => {
      for (const alloc of nomad.allocations("default", name)) {
        nomad.lifecycle.running(alloc.ID);
        nomad.lifecycle.exit(alloc.ID, { exitCode: 0 });
      }
      await until(`${name} Succeeded`, () => get(name)?.status?.phase === "Succeeded");
    };
    try {
      await op.source.start();
      op.controller.start();
      const first = await until("one run registered", () =>
        registered().length > 0 ? registered() : undefined,
      );
      await until("c QuotaExceeded", () =>
        get("c")?.status?.conditions?.find((x) => x.type === "Admitted" && x.reason === "QuotaExceeded"),
      );
      expect(first).toHaveLength(1);
      const waiting = first[0] === "a" ? "b" : "a";
      await until(`${waiting} Queued`, () => get(waiting)?.status?.phase === "Queued");
      expect(get(waiting)?.status?.queue).toMatchObject({ name: "one", position: 1 });

      // c moves to queue "one": it waits behind the other queued run there, registered nowhere.
      await writeFile(join(dir, "c.yaml"), job("c", "one"));
      await until("c waits in queue one", () =>
        get("c")?.status?.queue?.name === "one" && get("c")?.status?.phase === "Queued" ? true : undefined,
      );
      expect(registered()).toEqual(first);
      expect(get("c")?.status?.queue?.position).toBe(2);

      await finish(first[0] as string);
      await until(`${waiting} registered`, () => (registered().includes(waiting) ? true : undefined));
      // c moved up with no change of its own: its status says so.
      await until("c at position 1", () => (get("c")?.status?.queue?.position === 1 ? true : undefined));
      expect(registered().filter((n) => get(n)?.status?.phase !== "Succeeded")).toEqual([waiting]);
      await finish(waiting);
      await until("c registered", () => (registered().includes("c") ? true : undefined));
      await finish("c");
    } finally {
      await op.controller.stop();
      await op.close();
    }
  }, 30_000);
});

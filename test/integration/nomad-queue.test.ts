// The operator end to end with a TrainingQueue over a watched directory and the Nomad double: a run
// is registered only once its queue admits it; a finished run admits the next; a job whose file is
// edited to name another queue is admitted there (the gate's index follows the directory's changes),
// and a waiting job's position follows the runs admitted ahead of it. A queue whose document stops
// validating admits nothing new, as a deleted one, and says so on its waiting jobs at once (they had
// kept the reason of the queue's last valid spec); its admitted run is not stopped, and once valid
// again its waiting jobs are admitted by the new quota.
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
const dirs: string[] = [];

beforeAll(async () => {
  nomad = await startNomadDouble();
});

afterAll(async () => {
  await nomad?.close();
  for (const dir of dirs) {
    await rm(dir, { recursive: true, force: true });
    await rm(`${dir}-state`, { recursive: true, force: true });
  }
});

/** A directory of these files (name → YAML) and an operator watching it; its jobs' names are `jobs`. */
async function operatorOver(files: Record<string, string>, jobs: readonly string[]) {
  const dir = await mkdtemp(join(tmpdir(), "mlops-queue-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  const op: Operator = await buildNomadOperator({
    dir,
    concurrency: 4,
    ownerId: `it-queue-${process.pid}-${dirs.length}`,
    nomadAddr: nomad.address,
  });
  const get = (name: string) => op.source.get(makeKey("TrainingJob", "default", name)) as TrainingJob;
  const registered = () => jobs.filter((n) => nomad.allocations("default", n).length > 0);
  await op.source.start();
  op.controller.start();
  return { dir, op, get, registered };
}

describe("TrainingQueue on Nomad", () => {
  it("registers one run at a time, admits the next when one finishes, and follows a job moved to another queue", async () => {
    const { dir, op, get, registered } = await operatorOver(
      {
        "queues.yaml": `${queue("one", 1)}---\n${queue("none", 0)}`,
        "a.yaml": job("a", "one"),
        "b.yaml": job("b", "one"),
        "c.yaml": job("c", "none"),
      },
      ["a", "b", "c"],
    );
    const finish = async (name: string) => {
      for (const alloc of nomad.allocations("default", name)) {
        nomad.lifecycle.running(alloc.ID);
        nomad.lifecycle.exit(alloc.ID, { exitCode: 0 });
      }
      await until(`${name} Succeeded`, () => get(name)?.status?.phase === "Succeeded");
    };
    try {
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

  it("a queue whose document turns invalid tells its waiting jobs QueueNotFound at once, keeps its admitted run, and admits again once valid", async () => {
    const { dir, op, get, registered } = await operatorOver(
      { "queue.yaml": queue("two", 1), "d.yaml": job("d", "two"), "e.yaml": job("e", "two") },
      ["d", "e"],
    );
    const admittedReason = (name: string) => findCondition(get(name)?.status?.conditions, "Admitted")?.reason;
    try {
      const [running] = await until("one run registered", () =>
        registered().length > 0 ? registered() : undefined,
      );
      const waiting = running === "d" ? "e" : "d";
      await until(`${waiting} waits for quota`, () => admittedReason(waiting) === "WaitingForQuota");

      await writeFile(join(dir, "queue.yaml"), queue("two", -1));
      const queueKey = makeKey("TrainingQueue", "default", "two");
      await until("the queue's document invalid", () => op.source.lookup(queueKey).state === "invalid");
      await until(`${waiting} QueueNotFound`, () => admittedReason(waiting) === "QueueNotFound", 5_000);
      expect(get(waiting)?.status?.phase).toBe("Queued");
      expect(registered()).toEqual([running]);
      const jobId = nomad.allocations("default", running as string)[0]?.JobID ?? "";
      expect(nomad.state.job("default", jobId)?.Stop).not.toBe(true);
      expect(get(running as string)?.status?.phase).not.toBe("Queued");

      await writeFile(join(dir, "queue.yaml"), queue("two", 2));
      await until(`${waiting} registered`, () => (registered().includes(waiting) ? true : undefined));
      expect(admittedReason(waiting)).toBe("Admitted");
    } finally {
      await op.controller.stop();
      await op.close();
    }
  }, 30_000);
});

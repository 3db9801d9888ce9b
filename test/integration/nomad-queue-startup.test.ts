// At start-up the queues are looked at before the jobs, and a queue's reconcile admits what fits:
// every queue starts its runs at once, not when one of its jobs comes up among the first looks at
// every resource (queue-nomad: the last of 100 queues started 6 s after spawn at 10,000 jobs).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { makeKey } from "../../src/api/resources.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { until } from "../polling.ts";
import { buildNomadOperator } from "./nomad-operator-options.ts";
import { queuedJobYaml as job, queueYaml as queue } from "./queue-files.ts";

const EARLY_JOBS = 300;
let nomad: NomadDouble;
let dir = "";

beforeAll(async () => {
  nomad = await startNomadDouble();
  dir = await mkdtemp(join(tmpdir(), "mlops-queue-startup-"));
  // Listed in this order: the early queue's jobs, then the queues, then the late queue's only job.
  for (let i = 0; i < EARLY_JOBS; i++)
    await writeFile(join(dir, `a-${String(i).padStart(3, "0")}.yaml`), job(`a-${i}`, "early"));
  await writeFile(join(dir, "queues.yaml"), `${queue("early", 1)}---\n${queue("late", 1)}`);
  await writeFile(join(dir, "z.yaml"), job("z", "late"));
});

afterAll(async () => {
  await nomad?.close();
  await rm(dir, { recursive: true, force: true });
  await rm(`${dir}-state`, { recursive: true, force: true });
});

it("a queue listed after hundreds of jobs admits its run before most of them were looked at", async () => {
  const op = await buildNomadOperator({ dir, nomadAddr: nomad.address, ownerId: `it-qs-${process.pid}` });
  const lookedAt = () => {
    let n = 0;
    for (let i = 0; i < EARLY_JOBS; i++)
      if (op.source.get(makeKey("TrainingJob", "default", `a-${i}`))?.status) n++;
    return n;
  };
  try {
    await op.source.start();
    op.controller.start();
    // Polled every millisecond: the late queue's first status, and how far the first looks at the
    // early jobs had got when it was written. It counts z admitted: the queue's reconcile admitted it
    // before z itself was looked at (z.yaml is listed last).
    const first = await until(
      "the late queue's status",
      () => {
        const status = op.source.get(makeKey("TrainingQueue", "default", "late"))?.status;
        return status ? { status, lookedAt: lookedAt() } : undefined;
      },
      30_000,
      1,
    );
    expect(first.lookedAt).toBeLessThan(EARLY_JOBS / 2);
    expect(first.status).toMatchObject({ admitted: 1, pending: 0 });
    await until("z registered", () => nomad.allocations("default", "z").length > 0, 30_000);
    // The first looks go on: every early job gets its status (one admitted, the others Queued).
    await until("every early job looked at", () => lookedAt() === EARLY_JOBS, 30_000);
    expect(nomad.allocations("default", "z")).toHaveLength(1);
  } finally {
    await op.close();
  }
}, 60_000);

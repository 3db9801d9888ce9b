// Crash safety (test/safety/crash-nomad.ts): `mlopsctl run` killed with SIGKILL at seeded random
// points while converging 300 TrainingJobs on the Nomad double, restarted each time; nothing is
// duplicated, lost, orphaned or torn, and no restart needs a hand on the lock. The seed comes from
// MLOPS_CRASH_SEED (default 1); bench/crash-nomad.ts runs the full 50 kills over 1,000 jobs.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GrafanaDouble, startGrafanaDouble } from "../doubles/grafana/index.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { crashNomad } from "../safety/crash-nomad.ts";

let nomad: NomadDouble;
let grafana: GrafanaDouble;
let root = "";

beforeAll(async () => {
  nomad = await startNomadDouble({ heartbeatMs: 1_000 });
  grafana = await startGrafanaDouble();
  root = await mkdtemp(join(tmpdir(), "mlops-crash-"));
});

afterAll(async () => {
  await nomad?.close();
  await grafana?.close();
  await rm(root, { recursive: true, force: true });
});

describe("crash safety on Nomad", () => {
  it("10 SIGKILLs while converging 300 TrainingJobs: one job per resource, nothing lost or torn, lock taken over", async () => {
    const seed = Number(process.env.MLOPS_CRASH_SEED ?? 1);
    const figures = await crashNomad({
      root,
      nomad,
      grafana,
      count: 300,
      kills: 10,
      seed,
      maxKillDelayMs: 1_200,
    });
    expect(figures.finalExit).toBe(0);
    expect(figures.lockRefusals).toBe(0);
    expect(figures.missing).toEqual([]);
    expect(figures.orphans).toEqual([]);
    expect(figures.duplicateRuns).toEqual([]);
    expect(figures.tornStatus).toEqual([]);
    expect(figures.duplicateAnnotations).toEqual([]);
    expect(figures.unannotated).toEqual([]);
    expect(figures.tempFiles).toEqual([]);
    expect(figures.strayState).toEqual([]);
    expect(figures.killsMidWork).toBeGreaterThan(0);
  }, 90_000);
});

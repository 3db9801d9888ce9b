// The measurement, as a test: three TrainingJobs converged on the Nomad double, then one
// file damaged (binary bytes, zero bytes, a FIFO, a link out of the tree) and two `run --once`
// passes: the Nomad job stays. Then the prune switches and the mass prune guard keep jobs too.
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { PruneOptions } from "../../src/cli/compose.ts";
import type { DirectorySource } from "../../src/sources/directory/index.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { buildNomadOperator } from "./nomad-operator-options.ts";

let nomad: NomadDouble;
let dir = "";
const owner = `it-lost-${process.pid}`;

const job = (name: string, extra = "") => `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata:
  name: ${name}${extra}
spec:
  image: registry.example/${name}:1
`;

const PRUNE: PruneOptions = {
  settleMs: 50,
  enabled: true,
  mass: { maxFraction: 0.5, maxCount: 10, allow: false },
};

/** One `run --once` pass: start, converge, close. Returns what the source reported on pruning. */
async function once(prune: PruneOptions = PRUNE) {
  const op = await buildNomadOperator({
    dir,
    once: true,
    concurrency: 4,
    ownerId: owner,
    nomadAddr: nomad.address,
    prune,
  });
  try {
    await op.source.start();
    await op.cleanupOrphans();
    const summary = await op.controller.runUntilIdle({ timeoutMs: 20_000 });
    expect(summary.failed).toEqual([]);
    return (op.source as DirectorySource).pruneReport();
  } finally {
    await op.close();
  }
}

const jobStatus = async (name: string) => (await fetch(`${nomad.address}/v1/job/${name}`)).status;

beforeAll(async () => {
  nomad = await startNomadDouble({ heartbeatMs: 200 });
});
afterAll(async () => {
  await nomad?.close();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-lost-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(`${dir}-state`, { recursive: true, force: true });
});

describe("nothing lost: a damaged file never purges its Nomad job", () => {
  it.each([
    ["binary bytes", (f: string) => writeFile(f, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x1a]))],
    ["zero bytes", (f: string) => truncate(f, 0)],
    [
      "a FIFO",
      async (f: string) => {
        await rm(f);
        execFileSync("mkfifo", [f]);
      },
    ],
    [
      "a link to /etc/passwd",
      async (f: string) => {
        await rm(f);
        await symlink("/etc/passwd", f);
      },
    ],
  ])("%s: two --once passes keep the job and name the file", async (_name, damage) => {
    const names = ["a", "b", "c"].map((n) => `${n}-${Math.random().toString(36).slice(2, 8)}`);
    for (const n of names) await writeFile(join(dir, `${n}.yaml`), job(n));
    await once();
    for (const n of names) expect(await jobStatus(n)).toBe(200);
    await damage(join(dir, `${names[1]}.yaml`));
    for (let pass = 0; pass < 2; pass++) {
      const report = await once();
      expect(report.unreadable.map((u) => u.file)).toEqual([join(dir, `${names[1]}.yaml`)]);
    }
    for (const n of names) expect(await jobStatus(n)).toBe(200);
  });

  it("--prune=false and mlops.dev/prune: disabled keep the job; a deliberate removal purges it", async () => {
    await writeFile(join(dir, "keep.yaml"), job("keep", "\n  annotations:\n    mlops.dev/prune: disabled"));
    await writeFile(join(dir, "gone.yaml"), job("gone"));
    await writeFile(join(dir, "stay.yaml"), job("stay"));
    await once();
    await rm(join(dir, "keep.yaml"));
    await rm(join(dir, "gone.yaml"));
    const off = await once({ ...PRUNE, enabled: false });
    expect([...off.retained].sort()).toEqual(["TrainingJob/default/gone", "TrainingJob/default/keep"]);
    expect(await jobStatus("gone")).toBe(200);
    const on = await once();
    expect(on.retained).toEqual(["TrainingJob/default/keep"]);
    expect(await jobStatus("keep")).toBe(200);
    expect(await jobStatus("gone")).toBe(404);
    expect(await jobStatus("stay")).toBe(200);
  });

  it("rm of most files: a mass prune keeps every job until --allow-mass-prune", async () => {
    const names = Array.from({ length: 14 }, (_, i) => `m${i}`);
    for (const n of names) await writeFile(join(dir, `${n}.yaml`), job(n));
    await once();
    for (const n of names.slice(1)) await rm(join(dir, `${n}.yaml`));
    const blocked = await once();
    expect(blocked.massBlocked?.keys).toHaveLength(13);
    for (const n of names) expect(await jobStatus(n)).toBe(200);
    await once({ ...PRUNE, mass: { ...PRUNE.mass, allow: true } });
    expect(await jobStatus("m0")).toBe(200);
    for (const n of names.slice(1)) expect(await jobStatus(n)).toBe(404);
  });
});

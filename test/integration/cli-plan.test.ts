// `mlopsctl plan` against the Nomad double: the same decisions `run` applies, printed per resource
// with a field diff, Terraform's --detailed-exitcode, invalid files located, and nothing written.
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";

const exec = promisify(execFile);
const CLI = new URL("../../bin/mlopsctl", import.meta.url).pathname;
let nomad: NomadDouble;
let dir = "";
let stateDir = "";

const job = (image: string, priority = 50) => `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: { name: resnet }
spec: { image: ${image}, priority: ${priority} }
`;

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, NOMAD_ADDR: nomad.address };
  try {
    const { stdout, stderr } = await exec(CLI, args, { env, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const flags = () => [
  "--dir",
  dir,
  "--state-dir",
  stateDir,
  "--owner-id",
  "plan-test",
  "--scheduler",
  "nomad",
];
const plan = () => cli("plan", ...flags(), "--detailed-exitcode");
const runOnce = (...more: string[]) =>
  cli("run", ...flags(), "--once", "--metrics-addr", "127.0.0.1:0", "--log-level", "error", ...more);

async function snapshot(path: string): Promise<string> {
  const out: string[] = [];
  for (const entry of await readdir(path, { recursive: true, withFileTypes: true })) {
    if (entry.isFile())
      out.push(`${entry.name}:${await readFile(join(entry.parentPath, entry.name), "utf8")}`);
  }
  return out.sort().join("\n");
}

beforeAll(async () => {
  nomad = await startNomadDouble();
  dir = await mkdtemp(join(tmpdir(), "mlops-plan-"));
  stateDir = `${dir}-state`;
});

afterAll(async () => {
  await nomad?.close();
  await rm(dir, { recursive: true, force: true });
  await rm(stateDir, { recursive: true, force: true });
});

describe("mlopsctl plan", () => {
  it("shows a create, then no changes once run has converged", async () => {
    await writeFile(join(dir, "resnet.yaml"), job("resnet:1"));
    const first = await plan();
    expect(first.code).toBe(2);
    expect(first.stdout).toContain("+ TrainingJob/default/resnet: create");
    expect(nomad.writes).toBe(0);

    expect((await runOnce()).code).toBe(0);
    const writes = nomad.writes;
    const again = await plan();
    expect(again.stdout).toContain("No changes");
    expect(again.code).toBe(0);
    expect(nomad.writes).toBe(writes);
  });

  it("an image change is a new run, a priority change an update in place, each with its field diff", async () => {
    await writeFile(join(dir, "resnet.yaml"), job("resnet:2"));
    const newRun = await plan();
    expect(newRun.code).toBe(2);
    expect(newRun.stdout).toContain("+/- TrainingJob/default/resnet: new-run");
    expect(newRun.stdout).toContain('spec.image: "resnet:1" → "resnet:2"');

    await writeFile(join(dir, "resnet.yaml"), job("resnet:1", 80));
    const update = await plan();
    expect(update.stdout).toContain("~ TrainingJob/default/resnet: update");
    expect(update.stdout).toContain("spec.priority: 50 → 80");
  });

  it("a failed attempt waiting for its retry: no change now, saying when the next attempt starts", async () => {
    await writeFile(
      join(dir, "flaky.yaml"),
      `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: { name: flaky }
spec: { image: flaky:1, retryPolicy: { backoff: { delaySeconds: 3600, maxDelaySeconds: 3600 } } }
`,
    );
    try {
      expect((await runOnce()).code).toBe(0);
      const [alloc] = nomad.allocations("default", "flaky");
      if (!alloc) throw new Error("flaky was not registered");
      nomad.lifecycle.running(alloc.ID);
      nomad.lifecycle.exit(alloc.ID, { exitCode: 1 });
      expect((await runOnce()).code).toBe(0); // records the failure; the retry is an hour away
      const registers = nomad.writes;
      const shown = await plan();
      expect(shown.stdout).toMatch(
        /TrainingJob\/default\/flaky: none \(run g1-\w+: attempt 2 starts at \S+ \(retryPolicy\.backoff\)\)/,
      );
      expect(shown.stdout).toContain("No changes");
      expect(nomad.writes).toBe(registers);
    } finally {
      // The later cases plan this directory: the job goes whatever happened above.
      await rm(join(dir, "flaky.yaml"), { force: true });
      await runOnce();
    }
  });

  it("writes nothing: the state directory is byte for byte the same", async () => {
    const before = await snapshot(stateDir);
    await plan();
    expect(await snapshot(stateDir)).toBe(before);
  });

  it("reports invalid files as path:line:col and exits 1", async () => {
    await writeFile(
      join(dir, "broken.yaml"),
      "apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata: { name: broken }\nspec:\n  image: x\n  replica: 3\n",
    );
    try {
      const result = await plan();
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /broken\.yaml:6:3: spec\.replica unknown field \(did you mean "replicas"\?\)/,
      );
    } finally {
      await rm(join(dir, "broken.yaml"));
    }
  });

  it("a removed file is a delete", async () => {
    await rm(join(dir, "resnet.yaml"));
    await writeFile(join(dir, "other.yaml"), job("other:1").replace("name: resnet", "name: other"));
    const result = await plan();
    expect(result.stdout).toContain("- TrainingJob/default/resnet: delete");
    expect(result.code).toBe(2);
  });

  it("shows prunes beforehand: kept objects, prunes held back by an unreadable file", async () => {
    const annotated = job("keep:1").replace(
      "name: resnet",
      "name: keep, annotations: { mlops.dev/prune: disabled }",
    );
    await writeFile(join(dir, "keep.yaml"), annotated);
    expect((await runOnce()).code).toBe(0);
    await rm(join(dir, "keep.yaml"));
    await rm(join(dir, "other.yaml"));
    await writeFile(join(dir, "next.yaml"), job("next:1").replace("name: resnet", "name: next"));
    const shown = await plan();
    expect(shown.stdout).toContain(
      "= TrainingJob/default/keep: keep (no file declares it; objects kept (mlops.dev/prune: disabled))",
    );
    expect(shown.stdout).toContain(
      "- TrainingJob/default/other: delete (no file declares it; pruned after --prune-settle with the tree unchanged)",
    );
    await writeFile(join(dir, "half-written.yaml"), "");
    const held = await plan();
    expect(held.code).toBe(1);
    expect(held.stderr).toContain("half-written.yaml:1:1: empty file (0 bytes)");
    expect(held.stdout).toMatch(
      /! TrainingJob\/default\/other: blocked \(no file declares it; not pruned while .*half-written\.yaml is unreadable: empty file/,
    );
    const run = await runOnce();
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("half-written.yaml:1:1: empty file (0 bytes)");
    expect((await fetch(`${nomad.address}/v1/job/other`)).status).toBe(200);
    await rm(join(dir, "half-written.yaml"));
  });

  it("run --once holds back a mass prune, exits 1 naming --allow-mass-prune, and prunes when allowed", async () => {
    const names = Array.from({ length: 12 }, (_, i) => `mass-${i}`);
    for (const n of names)
      await writeFile(join(dir, `${n}.yaml`), job("m:1").replace("name: resnet", `name: ${n}`));
    const fast = ["--prune-settle", "100ms"];
    expect((await runOnce(...fast)).code).toBe(0);
    for (const n of names.slice(1)) await rm(join(dir, `${n}.yaml`));
    const held = await runOnce(...fast);
    expect(held.code).toBe(1);
    expect(held.stderr).toMatch(/mass prune held back: 11 of \d+ resources .*--allow-mass-prune/);
    expect(held.stderr).toContain("  kept: TrainingJob/default/mass-1\n");
    expect((await fetch(`${nomad.address}/v1/job/mass-1`)).status).toBe(200);
    expect((await runOnce(...fast, "--allow-mass-prune")).code).toBe(0);
    expect((await fetch(`${nomad.address}/v1/job/mass-1`)).status).toBe(404);
    expect((await fetch(`${nomad.address}/v1/job/mass-0`)).status).toBe(200);
  });
});

describe("mlopsctl plan with TrainingQueues", () => {
  it("a job its queue would not admit now shows as queue, not as a create", async () => {
    const qdir = await mkdtemp(join(tmpdir(), "mlops-plan-queue-"));
    const qstate = `${qdir}-state`;
    const queued = (name: string) => `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: { name: ${name} }
spec: { image: t:1, queue: team, resources: { cpu: 100, memoryMB: 64 } }
`;
    const qflags = [
      "--dir",
      qdir,
      "--state-dir",
      qstate,
      "--owner-id",
      "plan-queue-test",
      "--scheduler",
      "nomad",
    ];
    try {
      await writeFile(join(qdir, "first.yaml"), queued("first"));
      await writeFile(join(qdir, "second.yaml"), queued("second"));
      await writeFile(join(qdir, "lost.yaml"), queued("lost").replace("queue: team", "queue: nope"));
      await writeFile(
        join(qdir, "team.yaml"),
        "apiVersion: mlops.dev/v1alpha1\nkind: TrainingQueue\nmetadata: { name: team }\nspec: { quota: { runs: 1 } }\n",
      );
      const shown = await cli("plan", ...qflags);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toMatch(
        /\+ TrainingJob\/default\/first: create \(.*; admitted by queue default\/team\)/,
      );
      expect(shown.stdout).toContain(
        "… TrainingJob/default/second: queue (WaitingForQuota: position 1 in queue default/team",
      );
      expect(shown.stdout).toContain(
        "… TrainingJob/default/lost: queue (QueueNotFound: queue default/nope does not exist or is invalid)",
      );
      expect(shown.stdout).toContain("Plan: 1 to create, 0 new run(s), 0 to change, 0 to delete, 2 waiting");

      // Once run has registered the first, the scheduler reports it holding the quota.
      const run = await cli(
        "run",
        ...qflags,
        "--once",
        "--metrics-addr",
        "127.0.0.1:0",
        "--log-level",
        "error",
      );
      expect(run.code).toBe(0);
      expect((await fetch(`${nomad.address}/v1/job/first`)).status).toBe(200);
      expect((await fetch(`${nomad.address}/v1/job/second`)).status).toBe(404);
      const again = await cli("plan", ...qflags);
      expect(again.stdout).not.toContain("TrainingJob/default/first: create");
      expect(again.stdout).toContain("… TrainingJob/default/second: queue (WaitingForQuota: position 1");
    } finally {
      await rm(qdir, { recursive: true, force: true });
      await rm(qstate, { recursive: true, force: true });
    }
  });
});

describe("mlopsctl plan with two MlopsStacks", () => {
  it("the second that claims the first's network and ports is blocked, naming both", async () => {
    const sdir = await mkdtemp(join(tmpdir(), "mlops-plan-stacks-"));
    const sstate = `${sdir}-state`;
    const stack = (namespace: string) =>
      `apiVersion: mlops.dev/v1alpha1\nkind: MlopsStack\nmetadata: { name: platform, namespace: ${namespace} }\nspec: {}\n`;
    try {
      await writeFile(join(sdir, "stacks.yaml"), `${stack("default")}---\n${stack("team-b")}`);
      const r = await cli("plan", "--dir", sdir, "--state-dir", sstate, "--owner-id", "plan-stacks");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("+ MlopsStack/default/platform: create (network and components)");
      expect(r.stdout).toContain(
        "! MlopsStack/team-b/platform: blocked (MlopsStack/default/platform claims the same network mlops-network and host ports 8500, 4646, 9090, 3000;",
      );
      expect(r.stdout).toContain("1 to create");
    } finally {
      await rm(sdir, { recursive: true, force: true });
      await rm(sstate, { recursive: true, force: true });
    }
  });
});

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
const runOnce = () =>
  cli("run", ...flags(), "--once", "--metrics-addr", "127.0.0.1:0", "--log-level", "error");

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
});

// `mlopsctl run --once` (bin/mlopsctl, a child process) against the Nomad double: at its end it
// reports every invalid document of the directory as `path:line:col: message`, the path as the
// directory was given (relative stays relative), and exits 1 (the loads of files unchanged since the
// directory source read them stand for those files: directory-file-reads.test.ts).
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";

const exec = promisify(execFile);
const CLI = new URL("../../bin/mlopsctl", import.meta.url).pathname;

const job = (name: string, image: string) =>
  `apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata:\n  name: ${name}\nspec:\n  image: ${image}\n`;

let root: string;
let nomad: NomadDouble;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "mlops-run-once-invalid-"));
  nomad = await startNomadDouble();
});
afterAll(async () => {
  await nomad?.close();
  rmSync(root, { recursive: true, force: true });
});

async function runOnce(dir: string, stateDir: string): Promise<{ code: number; stderr: string }> {
  const args = ["run", "--once", "--dir", dir, "--state-dir", stateDir, "--scheduler", "nomad"];
  args.push("--nomad-addr", nomad.address, "--metrics-addr", "127.0.0.1:0", "--owner-id", "run-once-invalid");
  args.push("--log-format", "json");
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_STATE_HOME: root, MLOPSCTL_CONTEXT: "" };
  delete env.NOMAD_ADDR;
  try {
    const { stderr } = await exec(CLI, args, { cwd: root, timeout: 60_000, env });
    return { code: 0, stderr };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

describe("mlopsctl run --once with invalid documents", () => {
  it("reports each under the path given, relative or absolute, and exits 1", async () => {
    mkdirSync(join(root, "repo", "team"), { recursive: true });
    writeFileSync(join(root, "repo", "good.yaml"), job("good", "img:1"));
    writeFileSync(join(root, "repo", "team", "bad.yaml"), job("bad", "7"));
    writeFileSync(
      join(root, "repo", "broken.yaml"),
      "kind: TrainingJob\napiVersion: mlops.dev/v1alpha1\nspec: [\n",
    );
    const want = (dir: string) => [
      `${dir}/broken.yaml:4:1: Flow sequence in block collection must be sufficiently indented and end with a ]`,
      `${dir}/team/bad.yaml:6:3: spec.image must be of type string`,
    ];
    const relative = await runOnce("repo", join(root, "state"));
    expect(relative.code).toBe(1);
    expect(relative.stderr.split("\n").filter((l) => l.includes(".yaml:"))).toEqual(want("repo"));
    const absolute = await runOnce(join(root, "repo"), join(root, "state"));
    expect(absolute.code).toBe(1);
    expect(absolute.stderr.split("\n").filter((l) => l.includes(".yaml:"))).toEqual(want(join(root, "repo")));
  }, 90_000);
});

// A newcomer's first ten minutes, as the README tells them: `mlopsctl run` on the quickstart, then
// the `get`, `describe` and `logs` lines it prints (and the README shows), typed in another
// terminal from the repository root exactly as printed, with no flags: the current context finds
// the run. The table printed when the run finishes is the latest status, and a rerun with nothing
// changed logs no phase transition.
import { execFile, spawn } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { refuseLeftoverRuns } from "./leftover-runs.ts";

const exec = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;
const docker = new Docker();
const owner = `it-quickstart-${process.pid}`;
/** The example's checkpoint volume, named for this test (removed afterwards). */
const volume = `it-quickstart-checkpoints-${process.pid}`;
let work = "";
let env: NodeJS.ProcessEnv = {};

/** The commands of the README's "what next" block (the lines `run` prints), without comments. */
async function readmeCommands(): Promise<string[]> {
  const readme = await readFile(join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf("<!-- what-next -->");
  expect(start, "README.md has a <!-- what-next --> block").toBeGreaterThan(-1);
  const block = readme.slice(start, readme.indexOf("```", readme.indexOf("```", start) + 3));
  return block
    .split("\n")
    .filter((line) => line.startsWith("  ./bin/mlopsctl "))
    .map((line) => line.replace(/#.*$/, "").trim());
}

async function typed(command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const [file, ...args] = command.split(/\s+/);
  try {
    const { stdout, stderr } = await exec(file as string, args, { cwd: ROOT, env, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  // The quickstart's run of another operator (a `make run` on this machine) holds the container this
  // test's run needs: said at once (leftover-runs.ts).
  const key = "TrainingJob/default/mnist-quickstart";
  await refuseLeftoverRuns(docker, [key], owner, "the quickstart's run (a `make run` here?)");
  work = await mkdtemp(join(tmpdir(), "mlops-quickstart-"));
  await cp(join(ROOT, "examples/quickstart"), join(work, "quickstart"), { recursive: true });
  const file = join(work, "quickstart", "trainingjob.yaml");
  const text = await readFile(file, "utf8");
  await writeFile(
    file,
    text
      .replace(/value: "12"/, 'value: "3"')
      .replace(/EPOCH_SECONDS\n(\s+)value: "1"/, 'EPOCH_SECONDS\n$1value: "0.3"')
      .replace("name: mnist-quickstart-checkpoints", `name: ${volume}`),
  );
  env = { ...process.env, XDG_STATE_HOME: join(work, "xdg"), MLOPSCTL_BIN: "" };
  delete env.MLOPS_STATE_DIR;
  delete env.MLOPSCTL_CONTEXT;
  delete env.MLOPSCTL_BIN;
});

afterAll(async () => {
  const left = await docker.listContainers({
    all: true,
    filters: { label: [`mlops.dev/owner-id=${owner}`] },
  });
  for (const c of left) await docker.getContainer(c.Id).remove({ force: true });
  await docker
    .getVolume(volume)
    .remove()
    .catch(() => undefined);
  if (work) await rm(work, { recursive: true, force: true });
});

describe("the quickstart, as the README tells it", () => {
  it("run prints the README's commands; typed from the repository root they show the run; the final table is current", async () => {
    const expected = await readmeCommands();
    expect(expected).toEqual([
      "./bin/mlopsctl get tj",
      "./bin/mlopsctl describe tj mnist-quickstart",
      "./bin/mlopsctl logs tj mnist-quickstart -f",
    ]);
    const operator = spawn(
      "./bin/mlopsctl",
      [
        "run",
        "--dir",
        join(work, "quickstart"),
        "--scheduler",
        "docker",
        "--owner-id",
        owner,
        "--metrics-addr",
        "127.0.0.1:0",
        "--log-format",
        "json",
      ],
      { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    operator.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    operator.stderr.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    const until = async (pattern: RegExp, ms: number): Promise<void> => {
      const deadline = Date.now() + ms;
      while (!pattern.test(out)) {
        if (Date.now() > deadline) throw new Error(`no ${pattern} within ${ms} ms in:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      await until(/In another terminal, from this directory:/, 30_000);
      const printed = out
        .split("\n")
        .filter((line) => line.startsWith("  ./bin/mlopsctl "))
        .map((line) => line.replace(/#.*$/, "").trim());
      expect(printed).toEqual(expected);

      const [get, describeLine, logs] = expected as [string, string, string];
      // A person types this a moment later; the first status lands within a write-behind batch.
      let listed = await typed(get);
      for (let i = 0; i < 50 && !/mnist-quickstart/.test(listed.stdout); i++) {
        await new Promise((r) => setTimeout(r, 200));
        listed = await typed(get);
      }
      expect(listed.code).toBe(0);
      expect(listed.stdout).toMatch(/^NAME\s+PHASE\s+READY\s+AGE\n/);
      expect(listed.stdout).toMatch(/mnist-quickstart\s+(Pending|Running|Succeeded)/);
      expect(listed.stderr).toContain('mlopsctl: context "quickstart"');

      const described = await typed(describeLine);
      expect(described.code).toBe(0);
      expect(described.stdout).toMatch(/Name:\s+mnist-quickstart/);

      await until(/Running → Succeeded/, 60_000);
      const followed = await typed(logs);
      expect(followed.code).toBe(0);
      expect(followed.stdout).toMatch(/epoch/i);

      // The table printed when the last run finished says Succeeded, not the Running of before.
      await until(/NAMESPACE\s+NAME\s+PHASE[^\n]*\n[^\n]*mnist-quickstart[^\n]*\n/, 10_000);
      const table = out.slice(out.lastIndexOf("NAMESPACE"));
      expect(table.split("\n")[1]).toMatch(/mnist-quickstart\s+Succeeded\s+True/);
    } finally {
      operator.kill("SIGINT");
      await new Promise((r) => operator.once("exit", r));
    }

    // A rerun with nothing changed: no transition is logged (they come from the recorded phase).
    const again = await typed(
      `./bin/mlopsctl run --once --dir ${join(work, "quickstart")} --scheduler docker --owner-id ${owner} --log-format json`,
    );
    expect(again.code).toBe(0);
    expect(`${again.stdout}${again.stderr}`).not.toContain("→");
    // --once serves no port unless asked: nothing was listening, so nothing was logged as such.
    expect(`${again.stdout}${again.stderr}`).not.toContain("metrics server listening");
  });
});

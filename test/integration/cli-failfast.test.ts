// `mlopsctl run` fails fast and in one line: a scheduler that stays unreachable ends `--once` within
// --unreachable-timeout (not the whole --timeout), naming the address and the setting behind it; a
// resource whose reconcile keeps failing with another retried error (a Nomad namespace that does not
// exist) is given up after the same window while the others converge; a metrics port another
// process holds is one line naming the address and the flag, exit 1.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNomadDouble } from "../doubles/nomad/index.ts";

const exec = promisify(execFile);
const CLI = new URL("../../bin/mlopsctl", import.meta.url).pathname;
let dir = "";

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const started = performance.now();
  try {
    const { stdout, stderr } = await exec(CLI, args, { timeout: 60_000, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr, seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return {
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
      seconds: (performance.now() - started) / 1000,
    };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-failfast-"));
  await writeFile(
    join(dir, "train.yaml"),
    "apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata: { name: train }\nspec: { image: trainer:dev }\n",
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(`${dir}-state`, { recursive: true, force: true });
});

describe("mlopsctl run fails fast", () => {
  it.each([
    ["--nomad-addr", ["--nomad-addr", "http://127.0.0.1:1"], {}, "set by --nomad-addr"],
    ["NOMAD_ADDR", [], { NOMAD_ADDR: "http://127.0.0.1:1" }, "set by NOMAD_ADDR"],
  ])(
    "--once against a Nomad that never answers (%s) gives up after --unreachable-timeout",
    async (_n, flags, env, origin) => {
      const r = await cli(
        [
          "run",
          "--once",
          "--dir",
          dir,
          "--state-dir",
          `${dir}-state`,
          "--scheduler",
          "nomad",
          "--unreachable-timeout",
          "3s",
          "--log-level",
          "error",
          ...flags,
        ],
        env,
      );
      expect(r.code).toBe(1);
      expect(r.seconds).toBeLessThan(20); // the default --timeout is 5 minutes
      expect(r.stderr).toContain(`a scheduler stayed unreachable for 3 s (${origin})`);
      expect(r.stderr).toContain("http://127.0.0.1:1");
      expect(r.stderr).toContain("--unreachable-timeout");
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    },
  );

  it("--once gives up a resource whose retried error lasts --unreachable-timeout; the others converge", async () => {
    const nomad = await startNomadDouble();
    const two = await mkdtemp(join(tmpdir(), "mlops-failfast-ns-"));
    try {
      await writeFile(
        join(two, "jobs.yaml"),
        "apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata: { name: fine }\nspec: { image: trainer:dev }\n---\n" +
          "apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata: { name: lost, namespace: nowhere }\nspec: { image: trainer:dev }\n",
      );
      const r = await cli([
        "run",
        "--once",
        "--dir",
        two,
        "--state-dir",
        `${two}-state`,
        "--scheduler",
        "nomad",
        "--nomad-addr",
        nomad.address,
        "--unreachable-timeout",
        "2s",
        "--log-level",
        "error",
      ]);
      expect(r.code).toBe(1);
      expect(r.seconds).toBeLessThan(20); // it retried until the default --timeout of 5 minutes
      expect(r.stderr).toMatch(
        /TrainingJob\/nowhere\/lost: NamespaceNotFound: .*not retried again in this pass/,
      );
      expect(r.stderr).not.toContain("TrainingJob/default/fine");
      expect(nomad.allocations("default", "fine")).toHaveLength(1);
    } finally {
      await nomad.close();
      await rm(two, { recursive: true, force: true });
      await rm(`${two}-state`, { recursive: true, force: true });
    }
  });

  it("a metrics address another process holds is one line naming it and the flag, exit 1", async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const r = await cli([
        "run",
        "--dir",
        dir,
        "--state-dir",
        `${dir}-state`,
        "--scheduler",
        "docker",
        "--metrics-addr",
        `127.0.0.1:${port}`,
        "--log-level",
        "error",
      ]);
      expect(r.code).toBe(1);
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`--metrics-addr 127.0.0.1:${port}: cannot listen`);
      expect(lines[0]).toContain("EADDRINUSE");
    } finally {
      holder.close();
    }
  });
});

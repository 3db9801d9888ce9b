// The bundled build users run (`npm run build`, the operator images: rolldown.config.ts), built into
// a directory laid out as an installation without sources (bin/mlopsctl, dist/cli/, crds/,
// manifests/, package.json, node_modules), so the launcher runs the bundle and nothing else: the
// files it reads beside its code are found from the chunks' own place (src/api/paths.ts), the
// modules it leaves out load from node_modules, and the state I/O worker starts from its own entry.
import { execFile, spawn } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";

const exec = promisify(execFile);
const REPO = new URL("../../", import.meta.url).pathname;
let install = "";
let nomad: NomadDouble;

beforeAll(async () => {
  install = mkdtempSync(join(tmpdir(), "mlops-bundle-"));
  for (const name of ["crds", "manifests", "package.json", "node_modules"])
    symlinkSync(join(REPO, name), join(install, name));
  mkdirSync(join(install, "bin"));
  copyFileSync(join(REPO, "bin", "mlopsctl"), join(install, "bin", "mlopsctl"));
  const rolldown = join(REPO, "node_modules", "rolldown", "bin", "cli.mjs");
  await exec(process.execPath, [rolldown, "-c", "rolldown.config.ts"], {
    cwd: REPO,
    timeout: 60_000,
    env: { ...process.env, MLOPS_BUNDLE_DIR: join(install, "dist", "cli"), MLOPS_BUNDLE_SOURCEMAP: "false" },
  });
  writeFileSync(join(install, "dist", ".stamp"), "");
  nomad = await startNomadDouble();
}, 90_000);

afterAll(async () => {
  await nomad?.close();
  if (install) rmSync(install, { recursive: true, force: true });
});

const mlopsctl = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  exec(join(install, "bin", "mlopsctl"), args, {
    cwd: install,
    timeout: 30_000,
    env: { ...process.env, MLOPSCTL_CONTEXT: "", ...env },
  });

describe("the bundled build", () => {
  it("is a few files: the two entries and the chunks of the commands' lazy imports", () => {
    const files = readdirSync(join(install, "dist", "cli"));
    expect(files).toContain("main.js");
    expect(files).toContain("io-worker-thread.js");
    expect(files.every((f) => f.endsWith(".js"))).toBe(true);
    expect(files.length).toBeLessThan(100);
  });

  it("is ASCII only: V8 keeps a source with one other character as a two-byte string", () => {
    const dir = join(install, "dist", "cli");
    const wide = readdirSync(dir).filter((f) => readFileSync(join(dir, f)).some((byte) => byte > 0x7f));
    expect(wide).toEqual([]);
  });

  it("prints the version from package.json beside it", async () => {
    const { stdout } = await mlopsctl(["version", "-o", "json"]);
    expect(JSON.parse(stdout)).toMatchObject({ version: "0.1.0", apiVersion: "mlops.dev/v1alpha1" });
  });

  it("validates against the CRDs beside it and names what is wrong", async () => {
    const ok = await mlopsctl(["validate", join(REPO, "examples", "queues")]);
    expect(ok.stdout).toContain("4 resources valid");
    const bad = join(install, "bad.yaml");
    writeFileSync(
      bad,
      "apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata: {name: x}\nspec: {image: 7}\n",
    );
    await expect(mlopsctl(["validate", "bad.yaml"])).rejects.toMatchObject({
      code: 1,
      // The path as the user gave it, relative to where mlopsctl runs.
      stderr: expect.stringContaining("bad.yaml:4:8: spec.image must be of type string"),
    });
  });

  it("runs a queue through the state I/O worker, and get prints it as YAML", async () => {
    const state = join(install, "state");
    const args = ["run", "--dir", join(REPO, "examples", "queues"), "--state-dir", state];
    args.push("--scheduler", "nomad", "--nomad-addr", nomad.address, "--metrics-addr", "127.0.0.1:0");
    args.push("--log-format", "json", "--owner-id", "bundle-test");
    // Every batch of status files through the worker (its entry, io-worker-thread.js, by URL).
    const env = { ...process.env, MLOPS_STATE_INLINE_FILES: "0", MLOPSCTL_CONTEXT: "" };
    const operator = spawn(join(install, "bin", "mlopsctl"), args, { cwd: install, env, stdio: "pipe" });
    let log = "";
    operator.stderr.on("data", (chunk: Buffer) => {
      log += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => operator.on("exit", resolve));
    try {
      const deadline = Date.now() + 20_000;
      let phases = "";
      while (Date.now() < deadline) {
        const { stdout } = await mlopsctl(["get", "tj", "-o", "yaml", "--state-dir", state]).catch(() => ({
          stdout: "",
        }));
        phases = [...stdout.matchAll(/^ {6}name: (\S+)$|^ {6}phase: (\S+)$/gm)]
          .map((m) => m[1] ?? m[2])
          .join(" ");
        if (phases === "sweep-a Queued sweep-b Queued urgent Pending") break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(phases, log).toBe("sweep-a Queued sweep-b Queued urgent Pending");
      expect(log).not.toContain('"level":50');
    } finally {
      operator.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });
});

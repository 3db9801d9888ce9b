// `mlopsctl run` loads the Docker client (dockerode, docker-modem and their ssh2/gRPC/protobuf
// dependencies) only when Docker is in play: a run on Nomad with no MlopsStack converges without it;
// an MlopsStack or a run on Docker still loads it. Loaded packages are recorded by a module resolve hook in the child
// running src/cli/main.ts (as test/cli/lazy-commands.test.ts does); Nomad is the double on loopback.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const OWNER = "lazy-docker-it";
const DOCKER = ["dockerode", "docker-modem"];
const root = mkdtempSync(join(tmpdir(), "mlops-lazy-docker-"));
const hook = join(root, "hook.mjs");
const report = join(root, "modules.txt");
let nomad: NomadDouble;

writeFileSync(
  hook,
  `import { registerHooks } from "node:module";
import { appendFileSync } from "node:fs";
registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); appendFileSync(${JSON.stringify(report)}, r.url + "\\n"); return r; } });
`,
);

/** A directory holding one TrainingJob (its image exists nowhere: Docker answers ImageNotFound). */
function jobDir(name: string): string {
  const dir = join(root, name);
  spawnSync("mkdir", ["-p", dir]);
  writeFileSync(
    join(dir, "job.yaml"),
    `apiVersion: mlops.dev/v1alpha1\nkind: TrainingJob\nmetadata:\n  name: ${name}\nspec:\n  image: mlops-lazy-docker-it/none:1\n`,
  );
  return dir;
}

interface Outcome {
  readonly code: number | null;
  readonly packages: string[];
  readonly stderr: string;
}

/** Runs `mlopsctl <args>` in a child (bounded), returns its exit code and the packages it loaded. */
function mlopsctl(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  rmSync(report, { force: true });
  const base = { ...process.env };
  for (const name of ["NOMAD_ADDR", "CONSUL_HTTP_ADDR", "GRAFANA_URL"]) delete base[name];
  const child = spawn(
    join(ROOT, "node_modules/.bin/node"),
    ["--disable-warning=ExperimentalWarning", "--import", hook, join(ROOT, "src/cli/main.ts"), ...args],
    { env: { ...base, ...env }, stdio: ["ignore", "ignore", "pipe"], timeout: 60_000 },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => {
    child.on("close", (code) => {
      let urls: string[] = [];
      try {
        urls = readFileSync(report, "utf8").split("\n");
      } catch {}
      const names = urls.flatMap((u) => {
        const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
        return m?.[1] ? [m[1]] : [];
      });
      resolve({ code, packages: [...new Set(names)].sort(), stderr });
    });
  });
}

const runArgs = (dir: string, ...more: string[]) => [
  "run",
  "--once",
  "--dir",
  dir,
  "--state-dir",
  `${dir}-state`,
  "--owner-id",
  OWNER,
  "--metrics-addr",
  "127.0.0.1:0",
  "--log-level",
  "error",
  "--timeout",
  "30s",
  ...more,
];

beforeAll(async () => {
  nomad = await startNomadDouble();
});

afterAll(async () => {
  await nomad?.close();
  // Nothing should have been created (the image is missing); remove what carries this test's owner id.
  const ids = spawnSync("docker", ["ps", "-aq", "--filter", `label=mlops.dev/owner-id=${OWNER}`], {
    encoding: "utf8",
    timeout: 20_000,
  }).stdout?.trim();
  if (ids) spawnSync("docker", ["rm", "-f", ...ids.split("\n")], { timeout: 20_000 });
  rmSync(root, { recursive: true, force: true });
});

describe("run loads the Docker client only when Docker is in play", () => {
  it("--scheduler nomad, no MlopsStack: the job is registered on Nomad and dockerode is never loaded", async () => {
    const dir = jobDir("on-nomad");
    const run = await mlopsctl(runArgs(dir, "--scheduler", "nomad", "--nomad-addr", nomad.address));
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(nomad.state.jobs.size).toBeGreaterThan(0);
    expect(run.packages).toContain("undici");
    expect(run.packages.filter((p) => DOCKER.includes(p))).toEqual([]);
  });

  it("--scheduler auto with a configured Nomad (NOMAD_ADDR): no dockerode either", async () => {
    const dir = jobDir("auto-nomad");
    const run = await mlopsctl(runArgs(dir), { NOMAD_ADDR: nomad.address });
    expect(run.code).toBe(0);
    expect(run.packages.filter((p) => DOCKER.includes(p))).toEqual([]);
  });

  it("plan --scheduler nomad: no dockerode", async () => {
    const dir = jobDir("plan-nomad");
    const plan = await mlopsctl(
      ["plan", "--dir", dir, "--state-dir", `${dir}-state`, "--scheduler", "nomad", "--owner-id", OWNER],
      { NOMAD_ADDR: nomad.address },
    );
    expect(plan.code).toBe(0);
    expect(plan.packages).toContain("commander");
    expect(plan.packages.filter((p) => DOCKER.includes(p))).toEqual([]);
  });

  it("an MlopsStack loads it on its first reconcile, with --scheduler nomad (no engine here: DockerUnavailable)", async () => {
    const dir = join(root, "stack");
    spawnSync("mkdir", ["-p", dir]);
    writeFileSync(
      join(dir, "platform.yaml"),
      "apiVersion: mlops.dev/v1alpha1\nkind: MlopsStack\nmetadata:\n  name: lazy\n",
    );
    // An engine that is not there: nothing is created, and the stack's event says it was called.
    const run = await mlopsctl(
      [...runArgs(dir, "--scheduler", "nomad", "--nomad-addr", nomad.address), "--timeout", "5s"],
      { DOCKER_HOST: `unix://${join(root, "no-docker.sock")}` },
    );
    expect(run.packages).toEqual(expect.arrayContaining(DOCKER));
    const events = readFileSync(join(`${dir}-state`, "events/mlopsstack/default/lazy.jsonl"), "utf8");
    expect(events).toMatch(/DockerUnavailable.*no-docker\.sock is unreachable/);
  });

  it("--scheduler docker loads it (the check above can see it) and reaches the engine", async () => {
    const dir = jobDir("on-docker");
    const run = await mlopsctl(runArgs(dir, "--scheduler", "docker"));
    expect(run.packages).toEqual(expect.arrayContaining(DOCKER));
    const status = readFileSync(join(`${dir}-state`, "status/trainingjob/default/on-docker.json"), "utf8");
    // The engine answered (ImageNotFound: it was reached), or it is not running here (DockerUnavailable).
    expect(status).toMatch(/"(ImageNotFound|DockerUnavailable)"/);
  });
});

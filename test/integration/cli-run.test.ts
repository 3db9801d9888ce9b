// `mlopsctl run` as users run it (bin/mlopsctl, a child process) against the real Docker engine:
// --once converges and exits without waiting for the run; a second --once writes nothing; a
// removed file is pruned; a held lock is exit 75; the long-running operator serves /metrics,
// /readyz and /sd/prometheus, writes its state at a lower CPU priority than its loop, and stops
// cleanly on SIGTERM.
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireLock } from "../../src/sources/state/index.ts";

const exec = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;
const CLI = join(ROOT, "bin/mlopsctl");
const docker = new Docker();
const owner = `it-cli-${process.pid}`;
let dir = "";
let stateDir = "";

function job(name: string, epochs: number): string {
  return `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata:
  name: ${name}
spec:
  image: mlops-operator/trainer:dev
  env:
    - { name: EPOCHS, value: "${epochs}" }
    - { name: EPOCH_SECONDS, value: "0.2" }
  metrics: { port: 8000 }
`;
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(CLI, args, { timeout: 90_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const common = (metricsAddr = "127.0.0.1:0") => [
  "--dir",
  dir,
  "--state-dir",
  stateDir,
  "--owner-id",
  owner,
  "--metrics-addr",
  metricsAddr,
  "--log-level",
  "warn",
  "--log-format",
  "json",
];

/** Each thread's nice value by its name (/proc/<pid>/task/<tid>/stat: the 19th field). */
async function threadNices(pid: number): Promise<Map<string, number[]>> {
  const byName = new Map<string, number[]>();
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, "utf8").catch(() => "");
    const close = stat.lastIndexOf(")");
    if (close < 0) continue;
    const name = stat.slice(stat.indexOf("(") + 1, close);
    const nice = Number(stat.slice(close + 2).split(" ")[16]);
    byName.set(name, [...(byName.get(name) ?? []), nice]);
  }
  return byName;
}

async function containers(): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`mlops.dev/owner-id=${owner}`] } });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-cli-"));
  stateDir = `${dir}-state`;
});

afterAll(async () => {
  for (const c of await containers()) await docker.getContainer(c.Id).remove({ force: true });
  await rm(dir, { recursive: true, force: true });
  await rm(stateDir, { recursive: true, force: true });
});

describe("mlopsctl run", () => {
  it("--once converges without waiting for the run, and a second --once writes nothing", async () => {
    await writeFile(join(dir, "train.yaml"), job("train", 25));
    const first = await cli("run", ...common(), "--once");
    expect(first.stderr).not.toMatch(/error/i);
    expect(first.code).toBe(0);
    const created = await containers();
    expect(created).toHaveLength(1);
    const statusFile = join(stateDir, "status/trainingjob/default/train.json");
    const status = JSON.parse(await readFile(statusFile, "utf8"));
    expect(["Pending", "Running"]).toContain(status.status.phase);
    const before = (await stat(statusFile)).mtimeMs;

    const second = await cli("run", ...common(), "--once");
    expect(second.code).toBe(0);
    const after = await containers();
    expect(after.map((c) => c.Id)).toEqual(created.map((c) => c.Id));
    // Nothing else changed: the record is rewritten only when the run's progress moved (the trainer
    // reports it; status.progress is the one part that changes by itself while a run trains).
    const again = JSON.parse(await readFile(statusFile, "utf8"));
    const still = (record: { status: { progress?: unknown }; updated?: unknown }) => ({
      ...record,
      updated: undefined,
      status: { ...record.status, progress: undefined },
    });
    if (status.status.phase === "Running") {
      if (JSON.stringify(again.status.progress) === JSON.stringify(status.status.progress))
        expect((await stat(statusFile)).mtimeMs).toBe(before);
      else expect(still(again)).toEqual(still(status));
    }

    const got = await cli("get", "tj", "--state-dir", stateDir, "-o", "json");
    expect(JSON.parse(got.stdout).items[0].metadata.name).toBe("train");
  });

  it("a held state-directory lock is exit 75 naming the holder", async () => {
    const lock = await acquireLock(stateDir);
    try {
      const result = await cli("run", ...common(), "--once");
      expect(result.code).toBe(75);
      expect(result.stderr).toContain(String(process.pid));
    } finally {
      await lock.release();
    }
  });

  it("an invalid file changes nothing, is reported with its place, and fails --once", async () => {
    await writeFile(join(dir, "train.yaml"), job("train", 25).replace("EPOCHS", "1EPOCHS"));
    const before = (await containers()).map((c) => c.Id);
    const result = await cli("run", ...common(), "--once");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/train\.yaml:8:\d+: spec\.env\[0\]\.name/);
    expect((await containers()).map((c) => c.Id)).toEqual(before);
    const status = JSON.parse(
      await readFile(join(stateDir, "status/trainingjob/default/train.json"), "utf8"),
    );
    expect(status.status.conditions[0]).toMatchObject({
      type: "Ready",
      status: "False",
      reason: "InvalidSpec",
    });
    expect(status.status.run.id).toMatch(/^g1-/);
  });

  it("a removed file prunes the run on the next --once", async () => {
    await rm(join(dir, "train.yaml"));
    await writeFile(join(dir, "other.yaml"), job("other", 1));
    const result = await cli("run", ...common(), "--once");
    expect(result.code).toBe(0);
    const names = (await containers()).map((c) => c.Names[0]);
    expect(names).toEqual(["/mlops.default.other.0"]);
    await expect(stat(join(stateDir, "status/trainingjob/default/train.json"))).rejects.toThrow();
  });

  it("serves /readyz, /metrics and /sd/prometheus, and stops cleanly on SIGTERM", async () => {
    const port = 20000 + (process.pid % 20000);
    // Every batch through the state I/O worker (else these few files are written by the main thread
    // and no worker starts), so that its priority below can be read.
    const child = spawn(CLI, ["run", ...common(`127.0.0.1:${port}`)], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, MLOPS_STATE_INLINE_FILES: "0" },
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      const base = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 30_000;
      let ready = 0;
      while (Date.now() < deadline && ready !== 200) {
        ready = await fetch(`${base}/readyz`).then(
          (r) => r.status,
          () => 0,
        );
        if (ready !== 200) await new Promise((r) => setTimeout(r, 200));
      }
      expect(ready).toBe(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(
        /controller_runtime_reconcile_total\{controller="mlops",result="success"\} \d+/,
      );
      expect(metrics).toContain("workqueue_depth");
      // A running job's metrics endpoint is listed for Prometheus's HTTP service discovery.
      await writeFile(join(dir, "long.yaml"), job("long", 100));
      // The job of the test before ("other", one short epoch) may still be running under load: it is
      // listed too until it ends.
      type Group = { targets: string[]; labels: Record<string, string> };
      let long: Group | undefined;
      while (Date.now() < deadline + 30_000 && !long) {
        const groups = (await (await fetch(`${base}/sd/prometheus`)).json()) as Group[];
        long = groups.find((g) => g.labels.mlops_name === "long");
        if (!long) await new Promise((r) => setTimeout(r, 200));
      }
      expect(long?.targets).toHaveLength(1);
      // `mlopsctl run` writes its state directory at a lower CPU priority than its loop: its state I/O
      // worker, which has written the statuses above, 10 nice steps below the main thread.
      if (process.platform === "linux" && child.pid) {
        const threads = await threadNices(child.pid);
        const main = threads.get("MainThread")?.[0] ?? Number.NaN;
        expect(threads.get("state-io")).toEqual([Math.min(19, main + 10)]);
      }
      expect(long?.targets[0]).toMatch(/^\d+\.\d+\.\d+\.\d+:8000$/);
      const logs = await cli(
        "logs",
        "tj",
        "long",
        "--dir",
        dir,
        "--state-dir",
        stateDir,
        "--owner-id",
        owner,
      );
      expect(logs.code).toBe(0);
      expect(logs.stdout).toMatch(/epoch/i);
      expect(long?.labels).toMatchObject({
        mlops_name: "long",
        mlops_namespace: "default",
        __metrics_path__: "/metrics",
      });
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });
});

// A Docker engine restart, as the operator sees one, on the real engine without restarting it: the
// operator reaches Docker through a DOCKER_HOST proxy; the proxy refuses (the engine's API closes
// first when it shuts down), the container is stopped with SIGTERM behind the operator's back (what
// the engine does to its containers on the way down), the proxy answers again. The attempt counts
// against retryPolicy.infraRetryLimit (reason DaemonRestarted), not backoffLimit, and the next
// attempt runs with MLOPS_ATTEMPT=2. The same SIGTERM while the engine is reachable is the run's
// own failure (Docker does not record who stopped a container).
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../polling.ts";
import { faultProxy } from "../safety/fault-proxy.ts";
import { startOperator } from "../safety/operator-process.ts";

const exec = promisify(execFile);
const owner = `engine-restart-${process.pid}`;
let root = "";

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "mlops-engine-restart-"));
});
afterAll(async () => {
  const { stdout } = await exec("docker", ["ps", "-aq", "--filter", `label=mlops.dev/owner-id=${owner}`]);
  const ids = stdout.split("\n").filter(Boolean);
  if (ids.length > 0) await exec("docker", ["rm", "-f", ...ids]);
  await rm(root, { recursive: true, force: true });
});

interface Attempt {
  readonly attempt: number;
  readonly counted?: string;
  readonly reason?: string;
  readonly exitCode?: number;
}

async function recordOf(stateDir: string, name: string) {
  try {
    const text = await readFile(join(stateDir, `status/trainingjob/default/${name}.json`), "utf8");
    return JSON.parse(text).status as { phase?: string; run?: { attempts?: Attempt[] } };
  } catch {
    return undefined;
  }
}

async function running(name: string): Promise<{ id: string; attempt: string } | undefined> {
  const { stdout } = await exec("docker", [
    "ps",
    "--filter",
    `label=mlops.dev/owner-id=${owner}`,
    "--filter",
    `name=${name}`,
    "--format",
    '{{.ID}} {{.Label "mlops.dev/attempt"}}',
  ]);
  const [id, attempt] = stdout.trim().split(" ");
  return id ? { id, attempt: attempt ?? "" } : undefined;
}

const job = (name: string) => `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: { name: ${name} }
spec:
  image: mlops-operator/trainer:dev
  backoffLimit: 0
  env:
    - { name: EPOCHS, value: "600" }
    - { name: EPOCH_SECONDS, value: "0.2" }
`;

describe("a Docker engine restart behind the operator's back", () => {
  it("counts the stopped attempt as the platform's (DaemonRestarted) and runs attempt 2; a stop while connected is the run's own", async () => {
    const proxy = await faultProxy({ socketPath: "/var/run/docker.sock" });
    const dir = join(root, "jobs");
    const stateDir = join(root, "state");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "restarted.yaml"), job("restarted"));
    await writeFile(join(dir, "stopped.yaml"), job("stopped"));
    const op = startOperator({
      dir,
      stateDir,
      scheduler: "docker",
      ownerId: owner,
      env: { DOCKER_HOST: `tcp://127.0.0.1:${proxy.port}` },
      extra: ["--resync", "2s"],
    });
    try {
      const first = await until("restarted running", () => running("restarted"), 60_000, 200);
      expect(first.attempt).toBe("1");
      const other = await until("stopped running", () => running("stopped"), 60_000, 200);

      // The engine goes away (its API first), stops the container, and comes back.
      await proxy.setMode("refuse");
      await new Promise((r) => setTimeout(r, 1_500));
      await exec("docker", ["kill", "--signal", "TERM", first.id]);
      await new Promise((r) => setTimeout(r, 1_000));
      await proxy.setMode("none");

      const second = await until(
        "attempt 2 of restarted running",
        async () => {
          const now = await running("restarted");
          return now && now.attempt === "2" ? now : undefined;
        },
        60_000,
        200,
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${op.lines.slice(-10).join("\n")}`);
      });
      expect(second.id).not.toBe(first.id);
      const restarted = await until("the attempt recorded", async () => {
        const status = await recordOf(stateDir, "restarted");
        return status?.run?.attempts?.some((a) => a.attempt === 1 && a.reason) ? status : undefined;
      });
      expect(["Pending", "Running"]).toContain(restarted.phase); // attempt 2 submitted or running
      expect(restarted.run?.attempts?.find((a) => a.attempt === 1)).toMatchObject({
        counted: "infra",
        reason: "DaemonRestarted",
      });

      // The same signal with the engine reachable: the run's own failure, and backoffLimit 0 fails it.
      // Once the operator's event stream is back (the outage it knows ends there), and past the
      // clock slack it allows around an outage (outages.ts: 1 s): a restarted run can be running
      // again before that.
      await until(
        "the operator's container event stream back",
        async () => op.lines.some((l) => l.includes("Docker event stream connected again")) || undefined,
        30_000,
        100,
      );
      await new Promise((r) => setTimeout(r, 2_000));
      await exec("docker", ["kill", "--signal", "TERM", other.id]);
      const stopped = await until(
        "stopped Failed",
        async () => {
          const status = await recordOf(stateDir, "stopped");
          return status?.phase === "Failed" ? status : undefined;
        },
        30_000,
        200,
      ).catch(async (error: Error) => {
        const status = await recordOf(stateDir, "stopped");
        throw new Error(`${error.message}: ${JSON.stringify(status)}\n${op.lines.slice(-10).join("\n")}`);
      });
      expect(stopped.run?.attempts?.find((a) => a.attempt === 1)).toMatchObject({ counted: "user" });
    } finally {
      await op.stop();
      await proxy.close();
    }
  }, 120_000);
});

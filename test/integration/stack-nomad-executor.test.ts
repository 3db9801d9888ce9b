// The Nomad double's Docker-backed executor (what the Nomad stand-in of a stack can run jobs with):
// a task becomes a real container on the engine, on the task's network_mode; its exit code, OOM
// kill and logs become the allocation's; stop() removes the container.
import { afterAll, describe, expect, it } from "vitest";
import { connectDocker } from "../../src/clients/docker/index.ts";
import type { NomadAllocation, NomadJob } from "../../src/clients/nomad/types.ts";
import { DockerExecutor } from "../doubles/nomad/docker-executor.ts";
import type { AllocHandle } from "../doubles/nomad/executor.ts";
import type { ExitOptions } from "../doubles/nomad/lifecycle.ts";
import { cleanupDocker } from "../stack/harness.ts";

const TRAINER = process.env.TRAINER_IMAGE ?? "mlops-operator/trainer:dev";
const labels = { "mlops.dev/test": "true", "mlops.dev/test-suite": "stack-executor" };
const executor = new DockerExecutor({ labels });
afterAll(async () => {
  await executor.close();
  await cleanupDocker(await connectDocker(), "stack-executor");
});

function handleFor(id: string, env: Record<string, string>, image = TRAINER) {
  const seen: string[] = [];
  let exit: ExitOptions | undefined;
  let failure: string | undefined;
  const logs: string[] = [];
  const job = {
    ID: "mnist",
    TaskGroups: [
      {
        Name: "train",
        Count: 1,
        Tasks: [{ Name: "trainer", Driver: "docker", Config: { image }, Env: env, Resources: {} }],
      },
    ],
  } as unknown as NomadJob;
  const done = new Promise<void>((resolve) => {
    const handle: AllocHandle = {
      alloc: { ID: id, Name: "mnist.train[0]", JobID: "mnist", TaskGroup: "train" } as NomadAllocation,
      job,
      running: () => void seen.push("running"),
      exit: (options) => {
        exit = options;
        resolve();
      },
      driverFailure: (message) => {
        failure = message;
        resolve();
      },
      log: (_task, text) => void logs.push(text),
      variable: () => undefined,
    };
    executor.start(handle);
  });
  return { done, seen, logs, result: () => ({ exit, failure }) };
}

describe("DockerExecutor", () => {
  it("runs the task as a container and reports its exit code and logs", async () => {
    const run = handleFor("0a1b2c3d-0000-4000-8000-000000000001", {
      EPOCHS: "1",
      EPOCH_SECONDS: "0.1",
      METRICS_PORT: "0",
      EXIT_CODE: "3",
    });
    await run.done;
    expect(run.seen).toEqual(["running"]);
    expect(run.result().exit).toEqual({ exitCode: 3 });
    expect(run.logs.join("")).toContain("epoch 1/1");
  });

  it("reports a missing image as a driver failure", async () => {
    const run = handleFor("0a1b2c3d-0000-4000-8000-000000000002", {}, "mlops-operator/no-such-image:dev");
    await run.done;
    // As Nomad's docker driver words it (drivers/docker/coordinator.go): a pull failure, the engine's reason.
    expect(run.result().failure).toMatch(/Failed to pull `mlops-operator\/no-such-image:dev`: No such image/);
  });

  it("stop() removes a running container", async () => {
    const id = "0a1b2c3d-0000-4000-8000-000000000003";
    const run = handleFor(id, { EPOCHS: "600", EPOCH_SECONDS: "1", METRICS_PORT: "0" });
    const docker = (await connectDocker()).docker;
    const filters = { label: [`mlops.dev/nomad-alloc=${id}`] };
    for (let i = 0; i < 100 && run.seen.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(run.result().failure).toBeUndefined();
    expect((await docker.listContainers({ filters })).length).toBe(1);
    executor.stop(id);
    for (let i = 0; i < 100 && (await docker.listContainers({ all: true, filters })).length > 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await docker.listContainers({ all: true, filters })).toEqual([]);
    void run.done;
  });
});

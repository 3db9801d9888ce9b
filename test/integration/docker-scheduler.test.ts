// The Docker scheduler against the real engine: how runs end (success, non-zero exit with retries,
// memory kill, missing image) and what they print. Each test has its own names; the suite's owner
// id and test labels let afterAll remove everything it made.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LABEL } from "../../src/clients/docker/labels.ts";
import { dockerHarness, env, type Harness } from "./docker-harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await dockerHarness("sched");
});
afterAll(async () => {
  await h.cleanup();
});

const finished = (o: { replicas: readonly { state: string; exhausted?: boolean }[] } | undefined): boolean =>
  o !== undefined &&
  o.replicas.length > 0 &&
  o.replicas.every((r) => r.state === "succeeded" || (r.state === "failed" && r.exhausted === true));

describe("DockerScheduler on the real engine: outcomes", () => {
  it("runs a distributed run to success: one container per replica, WORLD_SIZE and RANK, limits", async () => {
    const run = h.run("ok", { replicas: 2, env: env({ EPOCHS: 2, EPOCH_SECONDS: 0.2 }), backoffLimit: 1 });
    await h.scheduler.submit(run);
    const running = await h.scheduler.observe(run.key);
    expect(running?.runId).toBe("g1-run");
    expect(running?.ownerId).toBe(h.ownerId);
    expect(running?.replicas).toHaveLength(2);
    const done = await h.until(run.key, finished);
    expect(done?.replicas.map((r) => [r.index, r.state, r.exitCode, r.reason])).toEqual([
      [0, "succeeded", 0, "Completed"],
      [1, "succeeded", 0, "Completed"],
    ]);
    expect(done?.startTime).toBeDefined();
    expect(done?.replicas.every((r) => r.finishedAt && r.startedAt && r.finishedAt > r.startedAt)).toBe(true);
    const info = await h.conn.docker.getContainer(`mlops.it.${run.key.name}.1`).inspect();
    expect(info.Config.Env).toEqual(expect.arrayContaining(["WORLD_SIZE=2", "RANK=1", "EPOCHS=2"]));
    expect(info.HostConfig.NanoCpus).toBe(250_000_000);
    expect(info.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(info.HostConfig.RestartPolicy).toEqual({ Name: "no", MaximumRetryCount: 0 });
    expect(info.Config.Env).toEqual(expect.arrayContaining(["MLOPS_RUN_ID=g1-run", "MLOPS_ATTEMPT=1"]));
    expect(info.Config.Labels?.[LABEL.runSpecHash]).toBe("run-1");
    const lines: string[] = [];
    for await (const line of h.scheduler.logs(run.key, { follow: false, replica: 1 })) lines.push(line);
    expect(lines[0]).toBe("trainer[1/2]: 2 epochs of 0.2s, mode train");
    expect(lines).toContain("epoch 2/2 loss 1.6680");
  });

  it("never restarts a failing replica in place (the operator owns attempts): exhausted at once, with its exit code", async () => {
    const run = h.run("fail", { env: env({ EPOCHS: 1, EPOCH_SECONDS: 0.1, EXIT_CODE: 3 }), backoffLimit: 2 });
    await h.scheduler.submit(run);
    const done = await h.until(run.key, finished, 60_000);
    expect(done?.replicas[0]).toMatchObject({
      state: "failed",
      exhausted: true,
      exitCode: 3,
      restarts: 0,
      reason: "Error",
    });
    expect(done?.stopped).toBe(false);
  });

  it("reports a replica killed for memory as OOMKilled", async () => {
    const run = h.run("oom", { env: env({ MODE: "oom" }), resources: { cpu: 250, memoryMB: 24, gpus: 0 } });
    await h.scheduler.submit(run);
    const done = await h.until(run.key, finished);
    expect(done?.replicas[0]).toMatchObject({
      state: "failed",
      exhausted: true,
      reason: "OOMKilled",
      exitCode: 137,
    });
  });

  it("reports a missing image as ImageNotFound at once, never pulling, leaving no container", async () => {
    const run = h.run("noimage", { image: "mlops-operator/does-not-exist:never", replicas: 2 });
    const started = Date.now();
    await h.scheduler.submit(run);
    expect(Date.now() - started).toBeLessThan(5_000);
    const observed = await h.scheduler.observe(run.key);
    expect(observed?.runId).toBe("g1-run");
    expect(observed?.replicas).toHaveLength(2);
    expect(observed?.replicas[0]).toMatchObject({
      state: "failed",
      exhausted: true,
      reason: "ImageNotFound",
    });
    expect(observed?.replicas[0]?.message).toMatch(/mlops-operator\/does-not-exist:never/);
    expect(await h.containersOf(run.key)).toEqual([]);
    await h.scheduler.purge(run.key);
    expect(await h.scheduler.observe(run.key)).toBeUndefined();
  });

  it("reports a command that cannot be executed as a failed replica (the init process exits 127)", async () => {
    const run = h.run("nostart", { command: ["/no/such/binary"], backoffLimit: 1 });
    await h.scheduler.submit(run);
    const observed = await h.until(run.key, finished);
    expect(observed?.replicas[0]).toMatchObject({
      state: "failed",
      exhausted: true,
      exitCode: 127,
      restarts: 0,
    });
    const lines: string[] = [];
    for await (const line of h.scheduler.logs(run.key, { follow: false })) lines.push(line);
    expect(lines.join("\n")).toMatch(/\/no\/such\/binary/);
  });

  it("follows the logs of every replica until they end, and stops following on abort", async () => {
    const run = h.run("logs", { replicas: 2, env: env({ EPOCHS: 2, EPOCH_SECONDS: 0.3 }) });
    await h.scheduler.submit(run);
    const lines: string[] = [];
    for await (const line of h.scheduler.logs(run.key, { follow: true })) lines.push(line);
    expect(lines).toContain("[replica 0] trainer[0]: done, exit code 0");
    expect(lines).toContain("[replica 1] trainer[1]: done, exit code 0");

    const long = h.run("logs-long", { env: env({ EPOCHS: 100, EPOCH_SECONDS: 0.2 }) });
    await h.scheduler.submit(long);
    const abort = new AbortController();
    const got: string[] = [];
    const started = Date.now();
    for await (const line of h.scheduler.logs(long.key, { follow: true, signal: abort.signal })) {
      got.push(line);
      if (got.length === 2) abort.abort();
    }
    expect(got.length).toBeGreaterThanOrEqual(2);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

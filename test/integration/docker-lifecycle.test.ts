// The Docker scheduler's life-cycle operations on the real engine: stop (suspend, deadline) and
// resume, in-place update, replacement by a new run, purge, drift (a container removed by hand seen
// through the event stream), a container's exit on endings(), a restarted operator, and ownership.
import { filter, firstValueFrom, timeout } from "rxjs";
import { GenericContainer, Wait } from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeKey } from "../../src/api/resources.ts";
import { LABEL } from "../../src/clients/docker/labels.ts";
import { dockerHarness, env, type Harness, TRAINER_IMAGE } from "./docker-harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await dockerHarness("life");
});
afterAll(async () => {
  await h.cleanup();
});

const long = env({ EPOCHS: 300, EPOCH_SECONDS: 0.2 });
const allRunning = (o: { replicas: readonly { state: string }[] } | undefined): boolean =>
  o !== undefined && o.replicas.length > 0 && o.replicas.every((r) => r.state === "running");

describe("DockerScheduler on the real engine: life cycle", () => {
  it("stops a run keeping its containers (suspend), and a second submit resumes the same run", async () => {
    const run = h.run("suspend", { replicas: 2, env: long, backoffLimit: 2 });
    await h.scheduler.submit(run);
    await h.until(run.key, allRunning);
    const ids = (await h.containersOf(run.key)).map((c) => c.Id).sort();

    await h.scheduler.stop(run.key, "suspend");
    const stopped = await h.scheduler.observe(run.key);
    expect(stopped?.stopped).toBe(true);
    expect(stopped?.replicas.map((r) => [r.state, r.exhausted, r.reason])).toEqual([
      ["failed", false, "Suspended"],
      ["failed", false, "Suspended"],
    ]);
    expect((await h.containersOf(run.key)).map((c) => c.State)).toEqual(["exited", "exited"]);
    await h.scheduler.stop(run.key, "suspend"); // idempotent

    await h.scheduler.submit(run);
    const resumed = await h.until(run.key, allRunning);
    expect(resumed?.stopped).toBe(false);
    expect((await h.containersOf(run.key)).map((c) => c.Id).sort()).toEqual(ids);
    const info = await h.conn.docker.getContainer(ids[0] as string).inspect();
    expect(info.HostConfig.RestartPolicy).toEqual({ Name: "no", MaximumRetryCount: 0 });
  });

  it("stops for a deadline with that reason; a restarted operator still sees it stopped", async () => {
    const run = h.run("deadline", { env: long, backoffLimit: 1 });
    await h.scheduler.submit(run);
    await h.until(run.key, allRunning);
    await h.scheduler.stop(run.key, "DeadlineExceeded");
    expect((await h.scheduler.observe(run.key))?.replicas[0]).toMatchObject({
      state: "failed",
      reason: "DeadlineExceeded",
    });
    const restarted = await h.another();
    const seen = await restarted.observe(run.key);
    expect(seen?.stopped).toBe(true);
    expect(seen?.replicas[0]).toMatchObject({ state: "failed", exhausted: false, reason: "Stopped" });
  });

  it("updates in place (same run, new spec hash) without touching the containers", async () => {
    const run = h.run("inplace", { env: long });
    await h.scheduler.submit(run);
    await h.until(run.key, allRunning);
    const before = await h.containersOf(run.key);
    await h.scheduler.submit({ ...run, specHash: "spec-2" });
    const after = await h.containersOf(run.key);
    expect(after.map((c) => [c.Id, c.State])).toEqual(before.map((c) => [c.Id, "running"]));
    expect((await h.scheduler.observe(run.key))?.specHash).toBe("spec-2");
  });

  it("replaces the containers of a previous run by the new run's", async () => {
    const first = h.run("replace", { env: long, replicas: 2 });
    await h.scheduler.submit(first);
    await h.until(first.key, allRunning);
    const second = {
      ...first,
      runId: "g2-run",
      generation: 2,
      runSpecHash: "run-2",
      spec: { ...first.spec, replicas: 1 },
    };
    await h.scheduler.submit(second);
    const list = await h.containersOf(first.key);
    expect(list.map((c) => c.Labels[LABEL.runId])).toEqual(["g2-run"]);
    expect((await h.scheduler.observe(first.key))?.runId).toBe("g2-run");
  });

  it("purges everything of the resource, idempotently, and nothing else", async () => {
    const run = h.run("purge", { env: long, replicas: 2 });
    const bystander = h.run("bystander", { env: long });
    await h.scheduler.submit(run);
    await h.scheduler.submit(bystander);
    await h.scheduler.purge(run.key);
    expect(await h.containersOf(run.key)).toEqual([]);
    expect(await h.scheduler.observe(run.key)).toBeUndefined();
    await h.scheduler.purge(run.key);
    expect(await h.containersOf(bystander.key)).toHaveLength(1);
    const owned = await h.scheduler.listOwned(h.ownerId);
    expect(owned.map((o) => o.key)).toContain(makeKey("TrainingJob", "it", bystander.key.name));
    expect(owned.map((o) => o.key)).not.toContain(makeKey("TrainingJob", "it", run.key.name));
  });

  it("sees a container removed by hand through changes(), and observe() reports it gone", async () => {
    const run = h.run("drift", { env: long, replicas: 2 });
    const key = makeKey("TrainingJob", "it", run.key.name);
    await h.scheduler.submit(run);
    await h.until(run.key, allRunning);
    const destroyed = firstValueFrom(
      h.scheduler.changes().pipe(
        filter((k) => k === key),
        timeout(15_000),
      ),
    );
    await new Promise((r) => setTimeout(r, 300)); // let the stream connect
    const [one] = await h.containersOf(run.key);
    await h.conn.docker.getContainer(one?.Id as string).remove({ force: true });
    expect(await destroyed).toBe(key);
    const partial = await h.scheduler.observe(run.key);
    const gone = partial?.replicas.find((r) => r.id === "");
    expect(gone).toMatchObject({ state: "failed", exhausted: true, reason: "ContainerRemoved" });
    // repair: the same run is submitted again and only the missing replica is created
    await h.scheduler.submit(run);
    const repaired = await h.until(run.key, allRunning);
    expect(repaired?.replicas.map((r) => r.id)).toContain(partial?.replicas.find((r) => r.id !== "")?.id);
    for (const c of await h.containersOf(run.key))
      await h.conn.docker.getContainer(c.Id).remove({ force: true });
    expect(await h.scheduler.observe(run.key)).toBeUndefined();
  });

  it("endings() reports a run whose container exited, while changes() is followed", async () => {
    const run = h.run("ends", { env: env({ EPOCHS: 2, EPOCH_SECONDS: 0.2 }) });
    const key = makeKey("TrainingJob", "it", run.key.name);
    const ended = firstValueFrom(
      h.scheduler.endings().pipe(
        filter((k) => k === key),
        timeout(20_000),
      ),
    );
    const changed: string[] = [];
    const following = h.scheduler.changes().subscribe((k) => changed.push(k));
    try {
      await new Promise((r) => setTimeout(r, 300)); // let the stream connect
      await h.scheduler.submit(run);
      expect(await ended).toBe(key);
      expect(changed).toContain(key);
    } finally {
      following.unsubscribe();
    }
  });

  it("a restarted operator observes the same run and its submit creates no duplicate", async () => {
    const run = h.run("restart", { env: long, replicas: 2 });
    await h.scheduler.submit(run);
    await h.until(run.key, allRunning);
    const before = (await h.containersOf(run.key)).map((c) => c.Id).sort();
    const restarted = await h.another();
    const seen = await restarted.observe(run.key);
    expect(seen?.runId).toBe(run.runId);
    expect(seen?.replicas.map((r) => r.state)).toEqual(["running", "running"]);
    await restarted.submit(run);
    await Promise.all([restarted.submit(run), h.scheduler.submit(run)]); // racing instances
    expect((await h.containersOf(run.key)).map((c) => c.Id).sort()).toEqual(before);
  });

  it("never changes what another owner holds: NotOwned on submit, stop and purge leave it alone", async () => {
    const run = h.run("owned", { env: long });
    await h.scheduler.submit(run);
    const other = await h.another(`${h.ownerId}-other`);
    await expect(other.submit({ ...run, ownerId: `${h.ownerId}-other` })).rejects.toMatchObject({
      reason: "NotOwned",
    });
    await other.stop(run.key, "suspend");
    await other.purge(run.key);
    const list = await h.containersOf(run.key);
    expect(list.map((c) => c.State)).toEqual(["running"]);
    expect((await other.observe(run.key))?.ownerId).toBe(h.ownerId);
    expect(await other.listOwned(`${h.ownerId}-other`)).toEqual([]);
  });

  it("refuses a container someone else started under the run's name (testcontainers), leaving it running", async () => {
    process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true"; // Ryuk's image cannot be pulled here
    const run = h.run("byhand", { env: long });
    const name = `mlops.it.${run.key.name}.0`;
    const started = await new GenericContainer(TRAINER_IMAGE)
      .withName(name)
      .withLabels({ "mlops.dev/test": "true", "mlops.dev/test-suite": "life" })
      .withEnvironment({ EPOCHS: "300", EPOCH_SECONDS: "0.2" })
      .withExposedPorts(8000)
      .withWaitStrategy(Wait.forHttp("/metrics", 8000))
      .start();
    try {
      await expect(h.scheduler.submit(run)).rejects.toMatchObject({
        reason: "NotOwned",
        message: expect.stringMatching(/made outside the operator/),
      });
      const res = await fetch(`http://${started.getHost()}:${started.getMappedPort(8000)}/metrics`);
      expect(await res.text()).toMatch(/training_loss\{rank="0"\}/);
    } finally {
      await started.stop();
    }
  });
});

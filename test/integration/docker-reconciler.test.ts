// The TrainingJob reconciler (decide + status) over the Docker scheduler on the real engine: the
// run semantics end to end, without the controller. A small driver reconciles after every event
// of the job's containers (or the requested requeue) until the status reaches what a test waits for.
import { readFileSync } from "node:fs";
import { chmod, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { TrainingJobSpec } from "../../src/api/generated/types.ts";
import { keyOf, type TrainingJob } from "../../src/api/resources.ts";
import { validateDocument } from "../../src/api/validate.ts";
import { systemClock } from "../../src/controller/reconcile.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import type { DockerScheduler } from "../../src/scheduler/docker/scheduler.ts";
import type { TrainingJobContext } from "../../src/trainingjob/context.ts";
import { TrainingJobReconciler } from "../../src/trainingjob/reconciler.ts";
import { dockerHarness, env, type Harness } from "./docker-harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await dockerHarness("recon");
});
afterAll(async () => {
  await h.cleanup();
});

type Status = NonNullable<TrainingJob["status"]>;

class Driver {
  readonly job: TrainingJob;
  readonly phases: string[] = [];
  readonly events: string[] = [];
  readonly ctx: TrainingJobContext;
  readonly reconciler = new TrainingJobReconciler();
  #dirty = false;
  #wake: (() => void) | undefined;
  /** What started the last reconcile of until(): a change of the job (changes()), or the 2 s fallback. */
  lastWake: "first" | "change" | "timer" = "first";

  constructor(job: TrainingJob, scheduler: DockerScheduler) {
    this.job = job;
    this.ctx = {
      status: {
        write: async (resource, status) => {
          resource.status = status as Status;
          const next = String((status as Status).phase);
          if (this.phases.at(-1) !== next) this.phases.push(next);
        },
      },
      recorder: { event: (_key, _type, reason, message) => this.events.push(`${reason}: ${message}`) },
      clock: systemClock,
      log: silentLogger(),
      resources: { get: () => undefined, list: () => [] },
      schedulers: { resolve: () => ({ scheduler }), byTarget: () => scheduler },
      ownerId: h.ownerId,
      startupTimeoutMs: 60_000,
      revision: () => undefined,
    };
    scheduler.changes().subscribe((key) => {
      if (key !== keyOf(this.job)) return;
      this.#dirty = true;
      this.#wake?.();
    });
  }

  get key(): { kind: "TrainingJob"; namespace: string; name: string } {
    const { namespace, name } = this.job.metadata;
    return { kind: "TrainingJob", namespace: namespace ?? "default", name };
  }

  /** Changes the spec as a new generation (as the directory source does for an edited file). */
  edit(change: Partial<TrainingJobSpec>): void {
    this.job.spec = { ...this.job.spec, ...change };
    this.job.metadata.generation += 1;
  }

  async until(done: (s: Status | undefined) => boolean, timeoutMs = 30_000): Promise<Status> {
    const deadline = Date.now() + timeoutMs;
    this.lastWake = "first";
    while (Date.now() < deadline) {
      this.#dirty = false;
      const action = await this.reconciler.reconcile(this.job, this.ctx);
      if (done(this.job.status)) return this.job.status as Status;
      if (this.#dirty) {
        this.lastWake = "change";
        continue;
      }
      const wait = "requeueAfterMs" in action ? Math.min(action.requeueAfterMs, 2000) : 2000;
      this.lastWake = await new Promise<"change" | "timer">((resolve) => {
        const timer = setTimeout(() => resolve("timer"), wait);
        this.#wake = () => {
          clearTimeout(timer);
          resolve("change");
        };
      });
    }
    throw new Error(
      `timed out; status ${JSON.stringify(this.job.status)}; events ${this.events.join(" | ")}`,
    );
  }
}

const phase = (p: string) => (s: Status | undefined) => s?.phase === p;
const ready = (s: Status | undefined) => s?.conditions?.find((c) => c.type === "Ready");

function job(name: string, spec: Partial<TrainingJobSpec>): TrainingJob {
  const run = h.run(name, spec);
  return {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingJob",
    metadata: { name: run.key.name, namespace: run.key.namespace, generation: 1 },
    spec: run.spec,
  };
}

const long = env({ EPOCHS: 300, EPOCH_SECONDS: 0.2, METRICS_PORT: 0 });

describe("TrainingJob reconciler on the Docker scheduler", () => {
  it("runs the quickstart example to Succeeded in 10–20 s", async () => {
    const checked = validateDocument(parse(readFileSync("examples/quickstart/trainingjob.yaml", "utf8")));
    if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
    const example = checked.resource as TrainingJob;
    // The example's checkpoint volume, named for this test (removed afterwards).
    const volume = `it-recon-checkpoints-${process.pid}`;
    expect(example.spec.volumes?.map((v) => [v.checkpoint, v.mountPath])).toEqual([[true, "/checkpoints"]]);
    const volumes = example.spec.volumes?.map((v) => ({ ...v, name: volume }));
    const tj = job("quickstart", { ...example.spec, ...(volumes ? { volumes } : {}) });
    const d = new Driver(tj, h.scheduler);
    const started = Date.now();
    const status = await d.until(phase("Succeeded"), 40_000);
    const seconds = (Date.now() - started) / 1000;
    expect(seconds).toBeGreaterThanOrEqual(10);
    expect(seconds).toBeLessThanOrEqual(20);
    expect(d.phases).toEqual(["Pending", "Running", "Succeeded"]);
    expect(status.run).toMatchObject({ scheduler: "docker", outcome: "Succeeded" });
    expect(ready(status)).toMatchObject({ status: "True", reason: "Succeeded" });
    expect(status.run?.attempts?.map((a) => [a.attempt, a.exitCode, a.reason])).toEqual([
      [1, 0, "Completed"],
    ]);
    expect(await d.reconciler.finalize(keyOf(d.job), d.job, d.ctx)).toBe("done");
    await h.conn.docker.getVolume(volume).remove();
  });

  it.each([
    [
      "exit code 3 after retries",
      { env: env({ EPOCHS: 1, EPOCH_SECONDS: 0.1, EXIT_CODE: 3 }), backoffLimit: 1 },
      "BackoffLimitExceeded",
      /exit code 3 in attempt 2.*backoffLimit is 1/,
    ],
    [
      "killed for memory",
      { env: env({ MODE: "oom" }), resources: { cpu: 250, memoryMB: 24, gpus: 0 }, backoffLimit: 0 },
      "OOMKilled",
      /exit code 137/,
    ],
    ["missing image", { image: "mlops-operator/does-not-exist:never" }, "ImageNotFound", /does-not-exist/],
  ] as const)("fails a run: %s", async (name, spec, reason, message) => {
    const d = new Driver(job(name.replace(/[^a-z0-9]+/g, "-").slice(0, 12), spec), h.scheduler);
    const status = await d.until(phase("Failed"));
    // The end was seen because changes() woke the driver, not by its 2 s fallback (a wall-time bound
    // here failed once under the full suite's load, with the container slower to start and be killed).
    expect(d.lastWake).toBe("change");
    expect(status.run?.reason).toBe(reason);
    expect(status.run?.message).toMatch(message);
    expect(status.conditions?.find((c) => c.type === "Stalled")?.status).toBe("True");
  });

  it("suspends (containers stopped, kept) and resumes the same run", async () => {
    const d = new Driver(job("suspend", { env: long }), h.scheduler);
    const running = await d.until(phase("Running"));
    const before = await h.containersOf({
      kind: "TrainingJob",
      namespace: d.job.metadata.namespace,
      name: d.job.metadata.name,
    });
    d.edit({ suspend: true });
    await d.until(phase("Suspended"));
    const key = d.key;
    expect((await h.containersOf(key)).map((c) => c.State)).toEqual(["exited"]);
    d.edit({ suspend: false });
    const resumed = await d.until(phase("Running"));
    expect(resumed.run?.id).toBe(running.run?.id);
    expect((await h.containersOf(key)).map((c) => [c.Id, c.State])).toEqual(
      before.map((c) => [c.Id, "running"]),
    );
  });

  it("fails a run that passes activeDeadlineSeconds and stops its containers", async () => {
    const d = new Driver(job("deadline", { env: long, activeDeadlineSeconds: 2 }), h.scheduler);
    const status = await d.until(phase("Failed"));
    expect(status.run?.reason).toBe("DeadlineExceeded");
    const key = d.key;
    await d.until((s) => s?.phase === "Failed" && true, 5_000);
    expect((await h.containersOf(key)).map((c) => c.State)).toEqual(["exited"]);
  });

  it("retryPolicy.backoff: each retry of a failing trainer waits (1 s, then 2 s) as Pending, RetryBackoff", async () => {
    const d = new Driver(
      job("backoff", {
        env: env({ EPOCHS: 1, EPOCH_SECONDS: 0.1, METRICS_PORT: 0, EXIT_CODE: 3 }),
        backoffLimit: 2,
        retryPolicy: { infraRetryLimit: 3, backoff: { delaySeconds: 1, factor: 2, maxDelaySeconds: 360 } },
      }),
      h.scheduler,
    );
    const key = d.key;
    try {
      const waiting = await d.until((s) => ready(s)?.reason === "RetryBackoff");
      expect(waiting.phase).toBe("Pending");
      expect(ready(waiting)?.message).toMatch(
        /^replica 0 failed with exit code 3 in attempt 1; attempt 2 starts at \S+ \(retryPolicy.backoff\)$/,
      );
      // The failed attempt's container is kept while the retry waits.
      expect((await h.containersOf(key)).map((c) => [c.State, c.Labels["mlops.dev/attempt"]])).toEqual([
        ["exited", "1"],
      ]);
      const failed = await d.until(phase("Failed"), 40_000);
      const attempts = failed.run?.attempts ?? [];
      expect(attempts.map((a) => [a.attempt, a.exitCode, a.counted])).toEqual([
        [1, 3, "user"],
        [2, 3, "user"],
        [3, 3, "user"],
      ]);
      // Each next attempt started its delay after the failure it follows, and not much later.
      const gaps = [1, 2].map(
        (n) => Date.parse(attempts[n]?.startTime ?? "") - Date.parse(attempts[n - 1]?.completionTime ?? ""),
      );
      expect(gaps[0]).toBeGreaterThanOrEqual(1000);
      expect(gaps[0]).toBeLessThan(3000);
      expect(gaps[1]).toBeGreaterThanOrEqual(2000);
      expect(gaps[1]).toBeLessThan(4000);
      expect(failed.run?.reason).toBe("BackoffLimitExceeded");
    } finally {
      await d.reconciler.finalize(keyOf(d.job), d.job, d.ctx);
    }
  });

  it("a restarted operator picks the run up mid-way: no duplicate, same run, then Succeeded", async () => {
    const tj = job("restart", { env: env({ EPOCHS: 8, EPOCH_SECONDS: 0.5, METRICS_PORT: 0 }), replicas: 2 });
    const first = new Driver(tj, h.scheduler);
    const running = await first.until(phase("Running"));
    const key = { kind: "TrainingJob" as const, namespace: tj.metadata.namespace, name: tj.metadata.name };
    const ids = (await h.containersOf(key)).map((c) => c.Id).sort();
    const second = new Driver(tj, await h.another());
    const done = await second.until(phase("Succeeded"));
    expect(done.run?.id).toBe(running.run?.id);
    expect((await h.containersOf(key)).map((c) => c.Id).sort()).toEqual(ids);
  });

  it("repairs an unfinished run whose container was removed by hand, then purges on deletion", async () => {
    const d = new Driver(job("repair", { env: long }), h.scheduler);
    await d.until(phase("Running"));
    const key = d.key;
    const [gone] = await h.containersOf(key);
    await h.conn.docker.getContainer(gone?.Id as string).remove({ force: true });
    await d.until(() => d.events.some((e) => e.startsWith("Repaired")));
    const after = await h.containersOf(key);
    expect(after).toHaveLength(1);
    expect(after[0]?.Id).not.toBe(gone?.Id);
    // a container removed by hand is the platform's failure: the next attempt, counted as infra
    expect(after[0]?.Labels["mlops.dev/attempt"]).toBe("2");
    expect(d.job.status?.run?.attempts?.map((a) => [a.attempt, a.reason, a.counted])).toEqual([
      [1, "Removed", "infra"],
      [2, undefined, undefined],
    ]);
    expect(await d.reconciler.finalize(keyOf(d.job), d.job, d.ctx)).toBe("done");
    expect(await h.containersOf(key)).toEqual([]);
  });

  it("a trainer killed mid-run is retried as attempt 2 and resumes from its checkpoint (step above 0)", async () => {
    // The repository's train.sh (bind-mounted, so the image's copy does not matter), checkpoints in a
    // host directory the trainer's user can write.
    const dir = await mkdtemp(join(tmpdir(), "mlops-it-ckpt-"));
    await chmod(dir, 0o777);
    const script = fileURLToPath(new URL("../../images/trainer/train.sh", import.meta.url));
    const d = new Driver(
      job("resume", {
        command: ["/bin/sh", "/mnt/train.sh"],
        env: env({ EPOCHS: 8, EPOCH_SECONDS: 0.4, METRICS_PORT: 0 }),
        backoffLimit: 1,
        volumes: [
          { hostPath: dir, mountPath: "/ckpt", readOnly: false, checkpoint: true },
          { hostPath: script, mountPath: "/mnt/train.sh", readOnly: true },
        ],
      }),
      h.scheduler,
    );
    const key = d.key;
    try {
      const running = await d.until(phase("Running"));
      const runDir = join(dir, running.run?.id ?? "");
      const deadline = Date.now() + 20_000;
      while (!(await readdir(runDir).catch(() => [])).some((f) => /^rank0-epoch-00000[2-9]$/.test(f))) {
        if (Date.now() > deadline) throw new Error(`no checkpoint of epoch 2 in ${runDir}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const [first] = await h.containersOf(key);
      await h.conn.docker.getContainer(first?.Id as string).kill();
      const status = await d.until(phase("Succeeded"), 40_000);
      expect(status.run?.attempts?.map((a) => [a.attempt, a.exitCode, a.reason, a.counted])).toEqual([
        [1, 137, "Error", "user"],
        [2, 0, "Completed", undefined],
      ]);
      const [second] = await h.containersOf(key);
      expect(second?.Id).not.toBe(first?.Id);
      const info = await h.conn.docker.getContainer(second?.Id as string).inspect();
      expect(info.Config.Env).toEqual(
        expect.arrayContaining([
          "MLOPS_ATTEMPT=2",
          "MLOPS_CHECKPOINT_DIR=/ckpt",
          `MLOPS_RUN_ID=${status.run?.id}`,
        ]),
      );
      const lines: string[] = [];
      for await (const line of h.scheduler.logs(key, { follow: false })) lines.push(line);
      const resumed = lines.map((l) => /attempt 2 resumes from epoch (\d+)/.exec(l)).find(Boolean);
      expect(Number(resumed?.[1])).toBeGreaterThan(0);
      expect(lines).not.toContain("epoch 1/8 loss 2.0600");
      expect(lines.filter((l) => l.startsWith("epoch 8/8 loss "))).toHaveLength(1);
    } finally {
      await d.reconciler.finalize(keyOf(d.job), d.job, d.ctx);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("removes a finished run's containers after ttlSecondsAfterFinished, keeping the outcome", async () => {
    const d = new Driver(
      job("ttl", { env: env({ EPOCHS: 1, EPOCH_SECONDS: 0.2 }), ttlSecondsAfterFinished: 1 }),
      h.scheduler,
    );
    await d.until(phase("Succeeded"));
    const key = d.key;
    await d.until(() => d.events.some((e) => e.startsWith("Purged")), 10_000);
    expect(await h.containersOf(key)).toEqual([]);
    const status = await d.until(phase("Succeeded"));
    expect(status.run?.outcome).toBe("Succeeded");
  });
});

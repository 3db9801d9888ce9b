// The contract of the Scheduler port (src/scheduler/port.ts): the same scenarios, with the same
// expected observations, run against every implementation. The TrainingJob reconciler never knows
// which scheduler it holds, so whatever one backend reports here, every other must report alike.
//
// A third backend uses it with one thin runner file:
//
//   schedulerContract("kubernetes", { capabilities: {} }, async () => ({
//     scheduler,                    // the implementation under test, with owner id `ownerId`
//     ownerId,                      // unique per test file
//     namespace,                    // a namespace that exists on the backend
//     another: async (owner) => …,  // a second scheduler of another owner id on the same backend
//     cleanup: async () => …,       // removes everything either owner made
//   }));
//
// Runs really execute: the trainer image (images/trainer/train.sh) prints one line per epoch and
// exits with $EXIT_CODE, so observations come from the backend, not from a script. A scenario a
// backend cannot do is switched off by a flag in `ContractCapabilities` (with the reason next to it
// in the runner), never skipped silently: the test then says so in its name.
import { randomBytes } from "node:crypto";
import type { Subscription } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TrainingJobSpec } from "../../../src/api/generated/types.ts";
import type { ResourceKey } from "../../../src/api/resources.ts";
import type { ObservedRun, RunRequest, Scheduler } from "../../../src/scheduler/port.ts";
import { spec } from "../docker-fixtures.ts";

export const TRAINER_IMAGE = process.env.MLOPS_TRAINER_IMAGE ?? "mlops-operator/trainer:dev";

export interface ContractBackend {
  readonly scheduler: Scheduler;
  readonly ownerId: string;
  /** A namespace that exists on the backend (Nomad refuses a job in an unknown namespace). */
  readonly namespace: string;
  /** Another scheduler on the same backend with the given owner id (another operator). */
  another(ownerId: string): Promise<Scheduler>;
  /** Removes everything the backend's schedulers made; closes them. */
  cleanup(): Promise<void>;
}

/** What a backend cannot do. Every flag is false by default; a runner sets one with its reason. */
export interface ContractCapabilities {
  /** logs() cannot return a finished run's output. */
  readonly noLogs?: boolean;
  /** changes() has no event source: the controller's resync is the only wake-up. */
  readonly noChanges?: boolean;
}

export interface ContractOptions {
  readonly capabilities: ContractCapabilities;
  /** Bound on every wait for an observation (default 30 s). */
  readonly timeoutMs?: number;
}

const env = (vars: Record<string, string | number>): { name: string; value: string }[] =>
  Object.entries(vars).map(([name, value]) => ({ name, value: String(value) }));

/** Short: 2 epochs of 0.3 s, exit 0. */
const SHORT = env({ EPOCHS: 2, EPOCH_SECONDS: 0.3, METRICS_PORT: 0 });
/** Long enough to be stopped, resubmitted and watched while it runs (60 s). */
const LONG = env({ EPOCHS: 300, EPOCH_SECONDS: 0.2, METRICS_PORT: 0 });

const finished = (o: ObservedRun | undefined): boolean =>
  o !== undefined &&
  o.replicas.length > 0 &&
  o.replicas.every((r) => r.state === "succeeded" || (r.state === "failed" && r.exhausted === true));
const running = (o: ObservedRun | undefined): boolean =>
  o !== undefined && o.replicas.length > 0 && o.replicas.every((r) => r.state === "running");

export function schedulerContract(
  name: string,
  options: ContractOptions,
  makeBackend: () => Promise<ContractBackend>,
): void {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const caps = options.capabilities;

  describe(`Scheduler contract: ${name}`, () => {
    let b: ContractBackend;
    const tag = randomBytes(3).toString("hex");

    beforeAll(async () => {
      b = await makeBackend();
    });
    afterAll(async () => {
      await b?.cleanup();
    });

    const run = (
      what: string,
      overrides: Partial<TrainingJobSpec> = {},
      over: Partial<RunRequest> = {},
    ): RunRequest => ({
      key: { kind: "TrainingJob", namespace: b.namespace, name: `contract-${what}-${tag}` },
      ownerId: b.ownerId,
      runId: "g1-run",
      generation: 1,
      specHash: "spec-1",
      runSpecHash: "run-1",
      spec: spec({ backoffLimit: 0, resources: { cpu: 250, memoryMB: 64, gpus: 0 }, ...overrides }),
      ...over,
    });
    const keyOf = (r: RunRequest): ResourceKey =>
      `TrainingJob/${r.key.namespace}/${r.key.name}` as ResourceKey;

    /** Observes until `done` holds; fails with the last observation after timeoutMs. */
    async function until(
      scheduler: Scheduler,
      key: RunRequest["key"],
      done: (o: ObservedRun | undefined) => boolean,
    ): Promise<ObservedRun | undefined> {
      const deadline = Date.now() + timeoutMs;
      let last: ObservedRun | undefined;
      while (Date.now() < deadline) {
        last = await scheduler.observe(key);
        if (done(last)) return last;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`timed out after ${timeoutMs} ms; last observed: ${JSON.stringify(last)}`);
    }

    it("submit → Pending/Running → exit 0 → Succeeded, with the run's record", async () => {
      const r = run("ok", { env: SHORT });
      const version = await b.scheduler.submit(r);
      const first = await b.scheduler.observe(r.key);
      expect(first).toMatchObject({
        ownerId: b.ownerId,
        runId: "g1-run",
        generation: 1,
        specHash: "spec-1",
        runSpecHash: "run-1",
        stopped: false,
      });
      expect(first?.replicas.map((x) => x.index)).toEqual([0]);
      expect(["pending", "running", "succeeded"]).toContain(first?.replicas[0]?.state);
      const done = await until(b.scheduler, r.key, finished);
      expect(done?.replicas.map((x) => [x.index, x.state, x.exitCode, x.reason])).toEqual([
        [0, "succeeded", 0, "Completed"],
      ]);
      expect(done?.stopped).toBe(false);
      expect(done?.startTime).toBeDefined();
      // The version submit answered (the status keeps it) is the object's until it changes: its
      // replicas running and ending do not change it (a backend that keeps none answers none).
      expect(first?.version).toBe(version);
      expect(done?.version).toBe(version);
    });

    const failing: [string, string, Partial<TrainingJobSpec>, number][] = [
      [
        "the trainer's EXIT_CODE",
        "fail",
        { env: env({ EPOCHS: 1, EPOCH_SECONDS: 0.1, METRICS_PORT: 0, EXIT_CODE: 3 }) },
        3,
      ],
      ["spec.command", "fail-cmd", { command: ["/bin/sh", "-c", "echo failing; exit 4"] }, 4],
    ];
    for (const [why, what, overrides, code] of failing) {
      it(`a run that exits non-zero (${why}) is failed with its exit code, retries used up`, async () => {
        const r = run(what, overrides);
        await b.scheduler.submit(r);
        const done = await until(b.scheduler, r.key, finished);
        expect(done?.replicas).toHaveLength(1);
        expect(done?.replicas[0]).toMatchObject({
          state: "failed",
          exhausted: true,
          exitCode: code,
          restarts: 0,
          reason: "Error",
        });
        expect(done?.stopped).toBe(false);
      });
    }

    it("an image that does not exist is ImageNotFound, naming the image", async () => {
      const r = run("noimage", { image: "mlops-operator/does-not-exist:never" });
      await b.scheduler.submit(r);
      const done = await until(b.scheduler, r.key, finished);
      expect(done?.runId).toBe("g1-run");
      expect(done?.replicas[0]).toMatchObject({ state: "failed", exhausted: true, reason: "ImageNotFound" });
      expect(done?.replicas[0]?.message).toContain("mlops-operator/does-not-exist:never");
    });

    it("stop (suspend) of a running run: observed stopped, nothing running, the record kept", async () => {
      const r = run("stop", { env: LONG });
      const submitted = await b.scheduler.submit(r);
      await until(b.scheduler, r.key, running);
      const version = await b.scheduler.stop(r.key, "suspend");
      const stopped = await until(
        b.scheduler,
        r.key,
        (o) => o?.stopped === true && o.replicas.every((x) => x.state !== "running" && x.state !== "pending"),
      );
      expect(stopped).toMatchObject({ ownerId: b.ownerId, runId: "g1-run", stopped: true });
      expect(stopped?.replicas.every((x) => x.state === "failed" && x.exhausted === false)).toBe(true);
      // A stop is a write: the version it answers is the one observed, another than submit's.
      expect(stopped?.version).toBe(version);
      if (version !== undefined) expect(version).not.toBe(submitted);
      await b.scheduler.stop(r.key, "suspend"); // idempotent
      expect((await b.scheduler.observe(r.key))?.stopped).toBe(true);
    });

    it("purge: gone from observe and listOwned; purging again is success", async () => {
      const r = run("purge", { env: LONG });
      await b.scheduler.submit(r);
      await until(b.scheduler, r.key, running);
      expect((await b.scheduler.listOwned(b.ownerId)).map((o) => o.key)).toContain(keyOf(r));
      await b.scheduler.purge(r.key);
      expect(await b.scheduler.observe(r.key)).toBeUndefined();
      expect((await b.scheduler.listOwned(b.ownerId)).map((o) => o.key)).not.toContain(keyOf(r));
      await b.scheduler.purge(r.key);
      expect(await b.scheduler.observe(r.key)).toBeUndefined();
    });

    it("listOwned lists only this owner id's runs; another owner's run is never touched", async () => {
      const otherId = `${b.ownerId}-other`;
      const other = await b.another(otherId);
      const mine = run("mine", { env: LONG });
      const theirs = run("theirs", { env: LONG }, { ownerId: otherId });
      await b.scheduler.submit(mine);
      await other.submit(theirs);
      await until(other, theirs.key, running);
      const owned = await b.scheduler.listOwned(b.ownerId);
      expect(owned).toContainEqual({ key: keyOf(mine), runId: "g1-run" });
      expect(owned.map((o) => o.key)).not.toContain(keyOf(theirs));
      expect((await other.listOwned(otherId)).map((o) => o.key)).toEqual([keyOf(theirs)]);

      // This owner sees the other's run as the other's, and leaves it alone.
      expect((await b.scheduler.observe(theirs.key))?.ownerId).toBe(otherId);
      await expect(b.scheduler.submit({ ...theirs, ownerId: b.ownerId })).rejects.toMatchObject({
        reason: "NotOwned",
      });
      await b.scheduler.stop(theirs.key, "suspend");
      await b.scheduler.purge(theirs.key);
      const after = await other.observe(theirs.key);
      expect(after).toMatchObject({ ownerId: otherId, runId: "g1-run", stopped: false });
      expect(after?.replicas.map((x) => x.state)).toEqual(["running"]);
      await other.purge(theirs.key);
    });

    it("submit twice for the same run is idempotent: the same replica, no second run", async () => {
      const r = run("twice", { env: LONG });
      await b.scheduler.submit(r);
      const first = await until(b.scheduler, r.key, running);
      await b.scheduler.submit(r);
      await b.scheduler.submit(r);
      const again = await b.scheduler.observe(r.key);
      expect(again?.runId).toBe("g1-run");
      expect(again?.replicas.map((x) => [x.index, x.id, x.state, x.restarts])).toEqual(
        first?.replicas.map((x) => [x.index, x.id, "running", 0]),
      );
      expect((await b.scheduler.listOwned(b.ownerId)).filter((o) => o.key === keyOf(r))).toHaveLength(1);
    });

    it.skipIf(caps.noLogs)(
      `logs returns the run's output${caps.noLogs ? " (backend cannot: noLogs)" : ""}`,
      async () => {
        const r = run("logs", { env: SHORT });
        await b.scheduler.submit(r);
        await until(b.scheduler, r.key, finished);
        const lines: string[] = [];
        for await (const line of b.scheduler.logs(r.key, { follow: false, replica: 0 })) lines.push(line);
        expect(lines).toEqual([
          "trainer[0/1]: 2 epochs of 0.3s, mode train",
          "epoch 1/2 loss 2.0600",
          "epoch 2/2 loss 1.6680",
          "trainer[0]: done, exit code 0",
        ]);
      },
    );

    it.skipIf(caps.noChanges)(
      `changes() emits the key when the run changes, never another owner's${caps.noChanges ? " (backend cannot: noChanges)" : ""}`,
      async () => {
        const otherId = `${b.ownerId}-watch`;
        const other = await b.another(otherId);
        const keys: ResourceKey[] = [];
        let subscription: Subscription | undefined;
        try {
          subscription = b.scheduler.changes().subscribe((k) => keys.push(k));
          const r = run("changes", { env: LONG });
          const theirs = run("changes-theirs", { env: SHORT }, { ownerId: otherId });
          await b.scheduler.submit(r);
          await other.submit(theirs);
          await until(b.scheduler, r.key, running);
          await until(other, theirs.key, finished);
          await waitFor(() => keys.includes(keyOf(r)), timeoutMs, "the key after submit");
          keys.length = 0;
          await b.scheduler.stop(r.key, "suspend");
          await waitFor(() => keys.includes(keyOf(r)), timeoutMs, "the key after stop");
          expect(keys).not.toContain(keyOf(theirs));
        } finally {
          subscription?.unsubscribe();
        }
      },
    );
  });
}

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

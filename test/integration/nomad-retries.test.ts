// Retries on Nomad, end to end over the Nomad double: the operator owns attempts. An allocation lost
// again and again is retried as new allocations (each registered with the next MLOPS_ATTEMPT) within
// retryPolicy.infraRetryLimit, never touching backoffLimit; an exit code in failOnExitCodes fails the
// run at once; retryPolicy.backoff delays the next attempt.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeKey, type TrainingJob } from "../../src/api/resources.ts";
import type { Operator } from "../../src/cli/compose.ts";
import type { NomadAllocation, NomadJob } from "../../src/clients/nomad/types.ts";
import { doubleNode, type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { until } from "../polling.ts";
import { buildNomadOperator } from "./nomad-operator-options.ts";

let nomad: NomadDouble;
let dir = "";
const owner = `it-retries-${process.pid}`;

const jobYaml = (name: string, extra: string) => `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: { name: ${name} }
spec:
  image: registry.example/trainer:1
  resources: { cpu: 100, memoryMB: 64, gpus: 0 }
${extra}`;

async function operator(): Promise<Operator> {
  return buildNomadOperator({
    dir,
    ownerId: owner,
    nomadAddr: nomad.address,
  });
}

/** Runs `body` against an operator that watches the directory, stopped and closed afterwards. */
async function converging(body: (op: Operator) => Promise<void>): Promise<void> {
  const op = await operator();
  try {
    await op.source.start();
    op.controller.start();
    await body(op);
  } finally {
    await op.controller.stop();
    await op.close();
  }
}

function resource(op: Operator, name: string): TrainingJob | undefined {
  return op.source.get(makeKey("TrainingJob", "default", name)) as TrainingJob | undefined;
}

/** The job as registered now: the version that created the newest allocation. */
async function registered(name: string): Promise<NomadJob> {
  return (await (await fetch(`${nomad.address}/v1/job/${name}`)).json()) as NomadJob;
}

beforeAll(async () => {
  nomad = await startNomadDouble({ heartbeatMs: 200 });
  dir = await mkdtemp(join(tmpdir(), "mlops-retries-"));
});

afterAll(async () => {
  await nomad?.close();
  await rm(dir, { recursive: true, force: true });
  await rm(`${dir}-state`, { recursive: true, force: true });
});

describe("retries on Nomad: attempts owned by the operator", () => {
  it("an allocation lost five times, then success: Succeeded, infra budget used, backoffLimit untouched", async () => {
    await writeFile(
      join(dir, "lossy.yaml"),
      jobYaml(
        "lossy",
        `  backoffLimit: 0
  retryPolicy: { infraRetryLimit: 5 }
  volumes: [{ name: ckpt, mountPath: /ckpt, checkpoint: true }]
`,
      ),
    );
    nomad.setNodes([doubleNode(1, { hostVolumes: { ckpt: { path: "/srv/ckpt", readOnly: false } } })]);
    const seen: { alloc: NomadAllocation; env: Record<string, string>; meta: Record<string, string> }[] = [];
    await converging(async (op) => {
      for (let attempt = 1; attempt <= 6; attempt++) {
        const alloc = await until(`the allocation of attempt ${attempt}`, () =>
          nomad.allocations("default", "lossy").find((a) => !seen.some((s) => s.alloc.ID === a.ID)),
        );
        const job = await registered("lossy");
        expect(alloc.JobVersion).toBe(job.Version);
        seen.push({ alloc, env: job.TaskGroups[0]?.Tasks[0]?.Env ?? {}, meta: job.Meta ?? {} });
        expect(job.TaskGroups[0]?.RestartPolicy?.Attempts).toBe(0);
        nomad.lifecycle.running(alloc.ID);
        if (attempt < 6) nomad.lifecycle.lost(alloc.ID);
        else nomad.lifecycle.exit(alloc.ID, { exitCode: 0 });
      }
      const done = await until("Succeeded", () =>
        resource(op, "lossy")?.status?.phase === "Succeeded" ? resource(op, "lossy") : undefined,
      );
      const runId = done.status?.run?.id;
      expect(seen.map((s) => s.env.MLOPS_ATTEMPT)).toEqual(["1", "2", "3", "4", "5", "6"]);
      expect(seen.map((s) => s.meta.mlops_attempt)).toEqual(["1", "2", "3", "4", "5", "6"]);
      expect(new Set(seen.map((s) => s.env.MLOPS_RUN_ID))).toEqual(new Set([runId]));
      expect(seen.every((s) => s.env.MLOPS_CHECKPOINT_DIR === "/ckpt")).toBe(true);
      const attempts = done.status?.run?.attempts ?? [];
      expect(attempts.map((a) => [a.attempt, a.reason, a.counted])).toEqual([
        [1, "NodeLost", "infra"],
        [2, "NodeLost", "infra"],
        [3, "NodeLost", "infra"],
        [4, "NodeLost", "infra"],
        [5, "NodeLost", "infra"],
        [6, "Completed", undefined],
      ]);
      expect(attempts.filter((a) => a.counted === "user")).toEqual([]);
      expect(attempts.at(-1)?.exitCode).toBe(0);
    });
  });

  it("retryPolicy.backoff: the next attempt is registered after the delay, even if the dead job is purged meanwhile", async () => {
    await writeFile(
      join(dir, "patient.yaml"),
      jobYaml(
        "patient",
        `  backoffLimit: 1
  retryPolicy: { backoff: { delaySeconds: 1 } }
`,
      ),
    );
    await converging(async (op) => {
      const first = await until("the allocation", () => nomad.allocations("default", "patient")[0]);
      nomad.lifecycle.running(first.ID);
      nomad.lifecycle.exit(first.ID, { exitCode: 1 });
      const failedAt = Date.now();
      const waiting = await until("RetryBackoff", () => {
        const ready = resource(op, "patient")?.status?.conditions?.find((c) => c.type === "Ready");
        return ready?.reason === "RetryBackoff" ? resource(op, "patient") : undefined;
      });
      expect(waiting.status?.phase).toBe("Pending");
      // Nomad collects the dead job (job GC, `nomad system gc`) while the retry waits: not a removal.
      const purged = await fetch(`${nomad.address}/v1/job/patient?purge=true`, { method: "DELETE" });
      expect(purged.status).toBe(200);
      const second = await until("the allocation of attempt 2", () =>
        nomad.allocations("default", "patient").find((a) => a.ID !== first.ID),
      );
      expect(Date.now() - failedAt).toBeGreaterThanOrEqual(1000);
      expect((await registered("patient")).Meta?.mlops_attempt).toBe("2");
      nomad.lifecycle.running(second.ID);
      nomad.lifecycle.exit(second.ID, { exitCode: 0 });
      const done = await until("Succeeded", () =>
        resource(op, "patient")?.status?.phase === "Succeeded" ? resource(op, "patient") : undefined,
      );
      expect(done.status?.run?.attempts?.map((a) => [a.attempt, a.exitCode, a.counted])).toEqual([
        [1, 1, "user"],
        [2, 0, undefined],
      ]);
    });
  });

  it("an exit code in failOnExitCodes fails the run at once, whatever the budgets", async () => {
    await writeFile(
      join(dir, "fatal.yaml"),
      jobYaml(
        "fatal",
        `  backoffLimit: 5
  retryPolicy: { infraRetryLimit: 5, failOnExitCodes: [3] }
`,
      ),
    );
    await converging(async (op) => {
      const alloc = await until("the allocation", () => nomad.allocations("default", "fatal")[0]);
      nomad.lifecycle.running(alloc.ID);
      nomad.lifecycle.exit(alloc.ID, { exitCode: 3 });
      const failed = await until("Failed", () =>
        resource(op, "fatal")?.status?.phase === "Failed" ? resource(op, "fatal") : undefined,
      );
      expect(failed.status?.run?.reason).toBe("FailOnExitCode");
      expect(failed.status?.run?.attempts?.map((a) => [a.attempt, a.exitCode, a.counted])).toEqual([
        [1, 3, "user"],
      ]);
      await new Promise((r) => setTimeout(r, 300)); // no second attempt follows
      expect(nomad.allocations("default", "fatal")).toHaveLength(1);
    });
  });
});

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SecretResolver } from "../../src/secrets/index.ts";
import { trainingJob } from "./builders.ts";
import { Harness } from "./harness.ts";

const FIRST = "first-Secret-41a9";
const SECOND = "second-Secret-77c2";

describe("TrainingJob reconciler with env valueFrom", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "mlops-tj-secrets-"));
    await writeFile(join(dir, "token"), `${FIRST}\n`);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const env = [
    { name: "PLAIN", value: "plain" },
    { name: "TOKEN", valueFrom: { file: { path: "token" } } },
  ];

  function harness(): Harness {
    const h = new Harness();
    h.ctx = { ...h.ctx, secrets: new SecretResolver({ secretsDir: dir }) };
    return h;
  }

  it("hands the resolved values to the scheduler and keeps only names in the status", async () => {
    const h = harness();
    const job = trainingJob({ env });
    await h.reconcile(job);
    expect(h.scheduler.submitted[0]?.secrets).toEqual({ TOKEN: FIRST });
    expect(JSON.stringify(h.statusWrites)).not.toContain(FIRST);
  });

  it("a changed secret keeps the run by default", async () => {
    const h = harness();
    const job = trainingJob({ env });
    await h.reconcile(job);
    await writeFile(join(dir, "token"), SECOND);
    h.scheduler.calls.length = 0;
    await h.reconcile(job);
    expect(h.scheduler.calls).toEqual(["observe train"]);
  });

  it("a changed secret starts a new run with restartOnSecretChange", async () => {
    const h = harness();
    const job = trainingJob({ env, restartOnSecretChange: true });
    await h.reconcile(job);
    const first = h.scheduler.submitted[0]?.runId;
    await h.reconcile(job);
    expect(h.scheduler.submitted).toHaveLength(1); // unchanged secret: converged
    await writeFile(join(dir, "token"), SECOND);
    await h.reconcile(job);
    expect(h.scheduler.submitted).toHaveLength(2);
    expect(h.scheduler.submitted[1]?.runId).not.toBe(first);
    expect(h.scheduler.submitted[1]?.secrets).toEqual({ TOKEN: SECOND });
    expect(h.events).toContain("Normal Replaced");
  });

  it("a missing file is a SecretNotFound condition naming the reference, retried", async () => {
    const h = harness();
    await rm(join(dir, "token"));
    const job = trainingJob({ env });
    await expect(h.reconcile(job)).rejects.toMatchObject({ reason: "SecretNotFound" });
    const ready = job.status?.conditions?.find((c) => c.type === "Ready");
    expect(ready?.reason).toBe("SecretNotFound");
    expect(ready?.message).toContain('file "token"');
    expect(h.scheduler.submitted).toHaveLength(0);
  });

  it("without a resolver (no --secrets-dir, no Kubernetes) a reference is InvalidSpec", async () => {
    const h = new Harness();
    const job = trainingJob({ env });
    await expect(h.reconcile(job)).rejects.toMatchObject({ reason: "InvalidSpec", terminal: true });
    expect(job.status?.conditions?.find((c) => c.type === "Ready")?.reason).toBe("InvalidSpec");
  });
});

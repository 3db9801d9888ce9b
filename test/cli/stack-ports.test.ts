// The Grafana of a stack as the TrainingJob kind reaches it (stackPorts): annotations are written as
// admin with the password from the state directory, read when an annotation is written (not while
// the scheduler is resolved), again after the file changes, and never GRAFANA_* of the environment.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ResourceKey } from "../../src/api/resources.ts";
import { stackPorts } from "../../src/cli/schedulers.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { grafanaPasswordPath } from "../../src/stack/secrets.ts";
import { type GrafanaDouble, startGrafanaDouble } from "../doubles/grafana/server.ts";
import { stackOf } from "../stack/fixtures.ts";

let grafana: GrafanaDouble;
let stateDir: string;
let path: string;

beforeEach(async () => {
  grafana = await startGrafanaDouble({ basic: { user: "admin", password: "the-password" } });
  stateDir = mkdtempSync(join(tmpdir(), "mlops-stack-ports-"));
  path = grafanaPasswordPath(stateDir, "default", "platform");
  mkdirSync(dirname(path), { recursive: true });
});
afterEach(async () => {
  await grafana.close();
});

const run = {
  key: "TrainingJob/default/mnist" as ResourceKey,
  runId: "r-1",
  startTime: 1_764_000_000_000,
  text: "TrainingJob default/mnist run r-1",
};

function annotatorOf() {
  const stack = stackOf();
  const ready = { ...stack, status: { endpoints: { grafana: { internal: "x", host: grafana.url } } } };
  const annotator = stackPorts(ready, stateDir, silentLogger()).annotator;
  if (!annotator) throw new Error("no annotator for a stack with a Grafana endpoint");
  return annotator;
}

describe("stackPorts: the stack's Grafana", () => {
  it("annotates as admin with the password file's content", async () => {
    writeFileSync(path, "the-password\n");
    const id = await annotatorOf().started(run);
    expect(grafana.state.annotations.get(id)).toMatchObject({ time: run.startTime });
  });

  it("reads the file when annotating: missing, then wrong, then right", async () => {
    const annotator = annotatorOf();
    await expect(annotator.started(run)).rejects.toMatchObject({
      reason: "SecretNotFound",
      message: expect.stringContaining(path),
    });
    writeFileSync(path, "an-old-password\n");
    await expect(annotator.started(run)).rejects.toMatchObject({ reason: "Forbidden" });
    writeFileSync(path, "the-password\n");
    expect(await annotator.started(run)).toEqual(expect.any(Number));
  });

  it("an empty password file is an error naming it, and nothing is sent to Grafana", async () => {
    writeFileSync(path, "\n");
    await expect(annotatorOf().started(run)).rejects.toMatchObject({
      reason: "SecretEmpty",
      message: expect.stringContaining(path),
    });
    expect([...grafana.requests.keys()]).toEqual([]);
  });

  it("sends the stack's credential even when GRAFANA_TOKEN is set for the operator's own Grafana", async () => {
    writeFileSync(path, "the-password\n");
    const saved = process.env.GRAFANA_TOKEN;
    process.env.GRAFANA_TOKEN = "a-token-for-another-grafana";
    try {
      expect(await annotatorOf().started(run)).toEqual(expect.any(Number));
    } finally {
      if (saved === undefined) delete process.env.GRAFANA_TOKEN;
      else process.env.GRAFANA_TOKEN = saved;
    }
  });
});

// GrafanaRunAnnotator against the Grafana double: one region per run, found by tags after a crash,
// finished() idempotent, errors typed.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ResourceKey } from "../../src/api/resources.ts";
import { GrafanaClient } from "../../src/clients/grafana/client.ts";
import {
  finishedTags,
  GrafanaRunAnnotator,
  runTags,
} from "../../src/trainingjob/adapters/grafana-annotator.ts";
import type { RunAnnotation } from "../../src/trainingjob/ports.ts";
import { type GrafanaDouble, startGrafanaDouble } from "../doubles/grafana/server.ts";
import { joinTagPairs, parseTagPairs } from "../doubles/grafana/tags.ts";

let double: GrafanaDouble;
let client: GrafanaClient;
let annotator: GrafanaRunAnnotator;

const run: RunAnnotation = {
  key: "TrainingJob/ml/resnet" as ResourceKey,
  runId: "r-7f3a",
  startTime: 1_764_000_000_000,
  text: "TrainingJob ml/resnet run r-7f3a (generation 3)",
};

beforeEach(async () => {
  double = await startGrafanaDouble({ token: "t" });
  client = new GrafanaClient({ url: double.url, token: "t", env: {}, retries: 0, timeoutMs: 1_000 });
  annotator = new GrafanaRunAnnotator(client);
});

afterEach(async () => {
  await client.close();
  await double.close();
});

const annotations = () => [...double.state.annotations.values()];

describe("GrafanaRunAnnotator", () => {
  it("posts one organisation-wide annotation at the start time with the run's tags", async () => {
    const id = await annotator.started(run);
    expect(annotations()).toEqual([
      expect.objectContaining({
        id,
        time: run.startTime,
        timeEnd: run.startTime,
        dashboardUID: "",
        panelId: 0,
        tags: ["mlops-operator", "ml/resnet", "run:r-7f3a"],
        text: run.text,
      }),
    ]);
  });

  it("never duplicates after a crash between posting and recording the id", async () => {
    const id = await annotator.started(run);
    // The process dies before writing `id` to status; a new process starts the same run again.
    const again = await new GrafanaRunAnnotator(client).started(run);
    expect(again).toBe(id);
    expect(annotations()).toHaveLength(1);
    expect(double.requests.get("POST /api/annotations")).toBe(1);
  });

  it("keeps runs apart: another run of the same job gets its own region", async () => {
    const first = await annotator.started(run);
    const second = await annotator.started({ ...run, runId: "r-8000", startTime: run.startTime + 60_000 });
    expect(second).not.toBe(first);
    expect(annotations()).toHaveLength(2);
  });

  it("finished() patches the end, adds outcome and reason, and a second call writes nothing", async () => {
    const id = await annotator.started(run);
    const done = {
      ...run,
      id,
      endTime: run.startTime + 3_600_000,
      outcome: "Failed" as const,
      reason: "OOMKilled",
    };
    await annotator.finished(done);
    expect(double.state.annotations.get(id)).toMatchObject({
      time: run.startTime,
      timeEnd: done.endTime,
      tags: ["mlops-operator", "ml/resnet", "run:r-7f3a", "failed", "reason:OOMKilled"],
      text: `${run.text}\nFailed: OOMKilled`,
    });
    // By the id from status: one PATCH, no search.
    expect(double.requests.get("GET /api/annotations")).toBe(1); // started()'s search
    expect(double.requests.get("PATCH /api/annotations/:id")).toBe(1);
    const writes = double.writes;
    await annotator.finished({ ...done, id: undefined });
    expect(double.writes).toBe(writes);
  });

  it("a fresh run's start is one POST, without a search", async () => {
    const id = await annotator.started({ ...run, fresh: true });
    expect(annotations()).toEqual([expect.objectContaining({ id, tags: runTags(run) })]);
    expect([...double.requests]).toEqual([["POST /api/annotations", 1]]);
  });

  it("finished() with an id Grafana no longer has finds the region by tags, else posts it whole", async () => {
    await annotator.finished({ ...run, id: 999, endTime: run.startTime + 10, outcome: "Succeeded" });
    expect(annotations()).toEqual([
      expect.objectContaining({
        time: run.startTime,
        timeEnd: run.startTime + 10,
        text: `${run.text}\nSucceeded`,
      }),
    ]);
    expect(double.requests.get("PATCH /api/annotations/:id")).toBe(1);
    expect(double.requests.get("GET /api/annotations")).toBe(1);
  });

  it("finished() without a known id finds the region by tags and patches it", async () => {
    const id = await annotator.started(run);
    await annotator.finished({ ...run, id: undefined, endTime: run.startTime + 10, outcome: "Succeeded" });
    expect(annotations()).toHaveLength(1);
    expect(double.state.annotations.get(id)?.tags).toContain("succeeded");
  });

  it("finished() posts the whole region when the start was never annotated (Grafana was down)", async () => {
    await annotator.finished({ ...run, id: undefined, endTime: run.startTime + 10, outcome: "Succeeded" });
    expect(annotations()).toEqual([
      expect.objectContaining({
        time: run.startTime,
        timeEnd: run.startTime + 10,
        text: `${run.text}\nSucceeded`,
      }),
    ]);
    await annotator.finished({ ...run, id: undefined, endTime: run.startTime + 10, outcome: "Succeeded" });
    expect(annotations()).toHaveLength(1);
  });

  it("propagates typed errors when Grafana is down, and succeeds once it is back", async () => {
    await double.setOutage("refuse");
    await expect(annotator.started(run)).rejects.toMatchObject({ reason: "GrafanaUnavailable" });
    await double.setOutage("database");
    await expect(annotator.started(run)).rejects.toMatchObject({ reason: "GrafanaError" });
    await double.setOutage("none");
    expect(await annotator.started(run)).toBe(1);
    expect(annotations()).toHaveLength(1);
  });
});

describe("the tags the operator writes survive Grafana's tag pairs (pkg/services/tag ParseTagPairs)", () => {
  it.each([
    ["g3-1a2b3c4d", "OOMKilled"],
    ["run:with:colons", "Reason:With:Colons"],
    [" padded ", " DeadlineExceeded "],
    ["2026-01-01T10:00:00Z", "Error"],
  ])("runId %j, reason %j: at most one colon, unchanged by a split-and-join", (runId, reason) => {
    const tags = finishedTags({
      key: "TrainingJob/ml/resnet" as ResourceKey,
      runId,
      startTime: 1,
      text: "t",
      id: undefined,
      endTime: 2,
      outcome: "Failed",
      reason,
    });
    for (const tag of tags) expect(tag.split(":").length, tag).toBeLessThanOrEqual(2);
    expect(joinTagPairs(parseTagPairs(tags))).toEqual(tags);
    expect(tags.slice(0, 3)).toEqual(runTags({ key: "TrainingJob/ml/resnet" as ResourceKey, runId }));
  });

  it("two runs whose ids differ only after a colon keep their own regions", async () => {
    await annotator.started({ ...run, runId: "g1:a" });
    await annotator.started({ ...run, runId: "g1:b", startTime: run.startTime + 1_000 });
    expect(annotations()).toHaveLength(2);
  });
});

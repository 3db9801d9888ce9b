// The operator end to end over Nomad, Consul and Grafana (API doubles on loopback, speaking the real
// wire format): a committed TrainingJob becomes a Nomad batch job; Nomad registers its metrics
// service in Consul; status follows the allocations, event-driven; the run is a Grafana region;
// a second operator process converges with zero writes anywhere; deleting the file purges the job.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeKey, type TrainingJob } from "../../src/api/resources.ts";
import type { Operator } from "../../src/cli/compose.ts";
import { type ConsulDouble, startConsulDouble } from "../doubles/consul/index.ts";
import { type GrafanaDouble, startGrafanaDouble } from "../doubles/grafana/index.ts";
import { gpuNode, type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { until } from "../polling.ts";
import { buildNomadOperator, passOnce } from "./nomad-operator-options.ts";

let nomad: NomadDouble;
let consul: ConsulDouble;
let grafana: GrafanaDouble;
let dir = "";
const KEY = makeKey("TrainingJob", "default", "bert");
const owner = `it-nomad-${process.pid}`;

const JOB = `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: { name: bert }
spec:
  image: registry.example/bert:1
  replicas: 2
  resources: { cpu: 1000, memoryMB: 2048, gpus: 1 }
  metrics: { port: 9100 }
`;

async function operator(once: boolean): Promise<Operator> {
  return buildNomadOperator({
    dir,
    once,
    concurrency: 4,
    ownerId: owner,
    nomadAddr: nomad.address,
  });
}

function job(op: Operator): TrainingJob | undefined {
  return op.source.get(KEY) as TrainingJob | undefined;
}

beforeAll(async () => {
  consul = await startConsulDouble();
  nomad = await startNomadDouble({ consul: consul.url, heartbeatMs: 200 });
  grafana = await startGrafanaDouble();
  process.env.CONSUL_HTTP_ADDR = consul.url;
  process.env.GRAFANA_URL = grafana.url;
  dir = await mkdtemp(join(tmpdir(), "mlops-nomad-"));
  await writeFile(join(dir, "bert.yaml"), JOB);
});

afterAll(async () => {
  delete process.env.CONSUL_HTTP_ADDR;
  delete process.env.GRAFANA_URL;
  await nomad?.close();
  await consul?.close();
  await grafana?.close();
  await rm(dir, { recursive: true, force: true });
  await rm(`${dir}-state`, { recursive: true, force: true });
});

describe("TrainingJob on Nomad, Consul and Grafana", () => {
  it("runs the job to Succeeded, event-driven, then converges again with zero writes", async () => {
    const op = await operator(false);
    try {
      await op.source.start();
      op.controller.start();
      // No device plugin anywhere yet: Nomad filters every node ("missing devices") and says why.
      const blocked = await until("MissingDevice", () => {
        const ready = job(op)?.status?.conditions?.find((c) => c.type === "Ready");
        return ready?.reason === "MissingDevice" ? ready : undefined;
      });
      expect(blocked.message).toMatch(/nvidia\/gpu/);
      expect(job(op)?.status?.conditions?.find((c) => c.type === "Unschedulable")).toMatchObject({
        status: "True",
        reason: "MissingDevice",
        message: expect.stringContaining('no node offers 1 nvidia/gpu ("missing devices" on 1 of 1 node(s))'),
      });
      expect(job(op)?.status?.phase).toBe("Pending");
      nomad.setNodes([gpuNode(1, 1), gpuNode(2, 1)]);
      const allocs = await until("two allocations", () => {
        const a = nomad.allocations("default", "bert");
        return a.length === 2 ? a : undefined;
      });
      expect(job(op)?.status?.phase).toBe("Pending");

      for (const alloc of allocs) nomad.lifecycle.running(alloc.ID);
      await until("Running", () => job(op)?.status?.phase === "Running");
      expect(job(op)?.status?.conditions?.map((c) => c.type)).not.toContain("Unschedulable");
      const running = job(op);
      expect(running?.status?.run?.scheduler).toBe("nomad");
      expect(running?.status?.run?.replicas?.map((r) => r.state)).toEqual(["running", "running"]);
      const services = await until("services in Consul", () => {
        const list = consul.state.services();
        return list.length === 2 ? list : undefined;
      });
      expect(services.every((s) => s.Tags.includes("mlops-operator"))).toBe(true);
      await until("MetricsHealthy", () =>
        job(op)?.status?.conditions?.find((c) => c.type === "MetricsHealthy"),
      );

      // Drift: the unfinished run's job is purged by hand; the event stream brings it back (self-heal).
      const runId = job(op)?.status?.run?.id;
      const purgedAt = performance.now();
      expect((await fetch(`${nomad.address}/v1/job/bert?purge=true`, { method: "DELETE" })).status).toBe(200);
      const again = await until("the job registered again", () => {
        const a = nomad.allocations("default", "bert");
        return a.length === 2 && a.every((x) => !allocs.some((old) => old.ID === x.ID)) ? a : undefined;
      });
      expect(performance.now() - purgedAt).toBeLessThan(2_000);
      expect(job(op)?.status?.run?.id).toBe(runId);
      for (const alloc of again) nomad.lifecycle.running(alloc.ID);

      for (const alloc of again) nomad.lifecycle.exit(alloc.ID, { exitCode: 0 });
      await until("Succeeded", () => job(op)?.status?.phase === "Succeeded");
      await until("annotation closed", () => job(op)?.status?.run?.annotationClosed === true);
    } finally {
      await op.controller.stop();
      await op.close();
    }

    const annotations = [...grafana.state.annotations.values()];
    expect(annotations).toHaveLength(1);
    expect(annotations[0]?.tags).toEqual(
      expect.arrayContaining(["mlops-operator", "default/bert", "succeeded"]),
    );
    expect(annotations[0]?.timeEnd).toBeGreaterThan(annotations[0]?.time ?? Number.POSITIVE_INFINITY);

    const writes = { nomad: nomad.writes, consul: consul.writes, grafana: grafana.writes };
    const again = await operator(true);
    try {
      await again.source.start();
      const summary = await again.controller.runUntilIdle({ timeoutMs: 20_000 });
      expect(summary.failed).toEqual([]);
      expect(job(again)?.status?.phase).toBe("Succeeded");
    } finally {
      await again.close();
    }
    expect({ nomad: nomad.writes, consul: consul.writes, grafana: grafana.writes }).toEqual(writes);
  });

  it("deleting the file stops and purges the Nomad job", async () => {
    await rm(join(dir, "bert.yaml"));
    await writeFile(join(dir, "other.yaml"), JOB.replace("name: bert", "name: other"));
    expect((await passOnce(await operator(true))).failed).toEqual([]);
    const res = await fetch(`${nomad.address}/v1/job/bert`);
    expect(res.status).toBe(404);
    expect((await fetch(`${nomad.address}/v1/job/other`)).status).toBe(200);
  });
});

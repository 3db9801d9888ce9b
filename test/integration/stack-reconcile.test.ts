// The MlopsStack reconciler on the real Docker engine, with local images (real Prometheus, stand-ins
// for Consul, Nomad and Grafana) on its own subnet 172.28.0.0/16. One stack is brought up and then
// disturbed step by step; every object carries mlops.dev/test=true and is removed at the end.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stackContainerName, stackVolumeName } from "../../src/api/names.ts";
import type { MlopsStack, ResourceKey, TrainingJob } from "../../src/api/resources.ts";
import {
  cleanupDocker,
  conditionOf,
  createHarness,
  type Harness,
  isReady,
  LOCAL_IMAGES,
  stackResource,
  TEST_LABEL,
} from "../stack/harness.ts";

const run = randomBytes(3).toString("hex");
const OWNER = `it-stack-${run}`;
const spec = (overrides: Record<string, unknown> = {}) => ({
  network: { name: `mlops-it-${run}`, subnet: "172.28.0.0/16" },
  consul: { image: LOCAL_IMAGES.consul, ip: "172.28.0.10", hostPort: 0 },
  nomad: { image: LOCAL_IMAGES.nomad, ip: "172.28.0.20", hostPort: 0 },
  prometheus: {
    image: LOCAL_IMAGES.prometheus,
    ip: "172.28.0.30",
    hostPort: 0,
    serviceDiscovery: "http",
    scrapeInterval: "2s",
  },
  grafana: { image: LOCAL_IMAGES.grafana, ip: "172.28.0.40", hostPort: 0 },
  ...overrides,
});
const name = `it-${run}`;
let stack: MlopsStack = stackResource(name, spec());
const key = `MlopsStack/default/${name}` as ResourceKey;
let h: Harness;

async function containerId(
  component: "consul" | "nomad" | "prometheus" | "grafana",
): Promise<string | undefined> {
  try {
    return (await h.conn.docker.getContainer(stackContainerName("default", name, component)).inspect()).Id;
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  h = await createHarness({ ownerId: OWNER });
});
afterAll(async () => {
  h?.close();
  if (h) await cleanupDocker(h.conn);
});

describe("MlopsStack on Docker", () => {
  it("brings the stack up in readiness order and reports it Ready with fixed IPs", async () => {
    const ms = await h.converge(stack, isReady);
    const status = h.statusOf(stack);
    expect(status?.components?.consul).toMatchObject({
      state: "running",
      health: "healthy",
      ip: "172.28.0.10",
    });
    expect(status?.components?.grafana).toMatchObject({ ip: "172.28.0.40", health: "healthy" });
    expect(status?.endpoints?.prometheus).toEqual({ internal: "http://172.28.0.30:9090" });
    const created = h.events.filter(
      (e) => e.reason === "Applied" && e.message.startsWith("created and started"),
    );
    expect(created.map((e) => e.message.split(" ")[4])).toEqual([
      stackContainerName("default", name, "consul"),
      stackContainerName("default", name, "nomad"),
      stackContainerName("default", name, "prometheus"),
      stackContainerName("default", name, "grafana"),
    ]);
    const inspect = await h.conn.docker
      .getContainer(stackContainerName("default", name, "prometheus"))
      .inspect();
    expect(inspect.Config.User).toBe("65534:65534");
    expect(inspect.Config.Labels?.[TEST_LABEL]).toBe("true");
    console.info(`stack converged in ${Math.round(ms)} ms`);
  });

  it("makes no Docker write on a no-op resync", async () => {
    const before = h.docker.writes.length;
    for (let i = 0; i < 3; i++) expect(await h.reconcile(stack)).toEqual({ awaitChange: true });
    expect(h.docker.writes.slice(before)).toEqual([]);
  });

  it("recreates a container removed by hand, woken by Docker events", async () => {
    const old = await containerId("grafana");
    const woke = h.nextChange(key);
    const removedAt = performance.now();
    await h.conn.docker.getContainer(old ?? "").remove({ force: true });
    expect((await woke) - removedAt).toBeLessThan(2000);
    await h.converge(stack, isReady);
    const now = await containerId("grafana");
    expect(now).toBeDefined();
    expect(now).not.toBe(old);
  });

  it("starts a container stopped by hand", async () => {
    const id = await containerId("nomad");
    const woke = h.nextChange(key);
    await h.conn.docker.getContainer(id ?? "").stop({ t: 1 });
    await woke;
    await h.converge(stack, isReady);
    expect(await containerId("nomad")).toBe(id);
    expect((await h.conn.docker.getContainer(id ?? "").inspect()).State.Running).toBe(true);
  });

  it("replaces only the container whose spec changed", async () => {
    const before = await Promise.all(
      (["consul", "nomad", "prometheus", "grafana"] as const).map(containerId),
    );
    stack = stackResource(name, spec({ prometheus: { ...spec().prometheus, scrapeInterval: "3s" } }));
    await h.converge(stack, isReady);
    const after = await Promise.all((["consul", "nomad", "prometheus", "grafana"] as const).map(containerId));
    expect(after.map((id, i) => id === before[i])).toEqual([true, true, false, true]);
  });

  it("reports NameConflict for a foreign container holding a component's name and leaves it alone", async () => {
    const other = `it-${run}-b`;
    const foreignName = stackContainerName("default", other, "consul");
    const foreign = await h.conn.docker.createContainer({
      name: foreignName,
      Image: LOCAL_IMAGES.prometheus,
      Entrypoint: ["/bin/sleep"],
      Cmd: ["300"],
      Labels: { [TEST_LABEL]: "true", "mlops.dev/test-suite": "stack" },
    });
    await foreign.start();
    const s2 = stackResource(other, {
      ...spec(),
      network: { name: `mlops-it-${run}-b`, subnet: "172.27.0.0/16" },
      consul: { image: LOCAL_IMAGES.consul, ip: "172.27.0.10", hostPort: 0 },
      nomad: { image: LOCAL_IMAGES.nomad, ip: "172.27.0.20", hostPort: 0 },
      prometheus: { image: LOCAL_IMAGES.prometheus, ip: "172.27.0.30", hostPort: 0 },
      grafana: { image: LOCAL_IMAGES.grafana, ip: "172.27.0.40", hostPort: 0 },
    });
    await h.reconcile(s2);
    const status = h.statusOf(s2);
    expect(conditionOf(status, "Degraded")).toMatchObject({ status: "True", reason: "NameConflict" });
    expect(status?.components?.consul?.containerId).toBeUndefined();
    const seen = await foreign.inspect();
    expect(seen.State.Running).toBe(true);
    expect(seen.Config.Labels?.["mlops.dev/owner-id"]).toBeUndefined();
    await h.reconciler.finalize(`MlopsStack/default/${other}` as ResourceKey, s2, h.ctx);
    expect((await foreign.inspect()).State.Running).toBe(true);
  });

  it("reports IPInUse when the subnet overlaps another network", async () => {
    const s3 = stackResource(`it-${run}-c`, {
      ...spec(),
      network: { name: `mlops-it-${run}-c`, subnet: "172.28.0.0/16" },
    });
    await h.reconcile(s3);
    expect(conditionOf(h.statusOf(s3), "Degraded")).toMatchObject({ status: "True", reason: "IPInUse" });
  });

  it("reports PortInUse when a host port is taken, and recovers once it is free", async () => {
    const blocker = createServer();
    blocker.listen(0, "127.0.0.1");
    await once(blocker, "listening");
    const port = (blocker.address() as AddressInfo).port;
    const other = `it-${run}-d`;
    const s4 = stackResource(other, {
      ...spec(),
      network: { name: `mlops-it-${run}-d`, subnet: "172.26.0.0/16" },
      consul: { image: LOCAL_IMAGES.consul, ip: "172.26.0.10", hostPort: port },
      nomad: { enabled: false },
      prometheus: { enabled: false },
      grafana: { enabled: false },
    });
    try {
      await h.reconcile(s4);
      expect(conditionOf(h.statusOf(s4), "Degraded")).toMatchObject({ status: "True", reason: "PortInUse" });
      blocker.close();
      await once(blocker, "close");
      await h.converge(s4, isReady, 30_000);
      expect(h.statusOf(s4)?.endpoints?.consul?.host).toBe(`http://127.0.0.1:${port}`);
      expect((await fetch(`http://127.0.0.1:${port}/v1/status/leader`)).status).toBe(200);
    } finally {
      blocker.close();
      await h.reconciler.finalize(`MlopsStack/default/${other}` as ResourceKey, s4, h.ctx);
    }
  });

  it("waits for TrainingJobs that name the stack before deleting it (DependentsExist)", async () => {
    const job = {
      apiVersion: "mlops.dev/v1alpha1",
      kind: "TrainingJob",
      metadata: { name: "mnist", namespace: "default", generation: 1 },
      spec: {
        image: "x",
        stackRef: name,
        replicas: 1,
        resources: { cpu: 100, memoryMB: 64, gpus: 0 },
        priority: 50,
        backoffLimit: 0,
        suspend: false,
      },
    } as unknown as TrainingJob;
    h.resources.set("TrainingJob/default/mnist", job);
    const action = await h.reconciler.finalize(key, stack, h.ctx);
    expect(action).not.toBe("done");
    expect(conditionOf(h.statusOf(stack), "Ready")).toMatchObject({
      status: "False",
      reason: "DependentsExist",
    });
    expect(await containerId("consul")).toBeDefined();
    h.resources.delete("TrainingJob/default/mnist");
  });

  it("deletion removes the containers and the network and keeps the data volumes", async () => {
    expect(await h.reconciler.finalize(key, stack, h.ctx)).toBe("done");
    for (const c of ["consul", "nomad", "prometheus", "grafana"] as const)
      expect(await containerId(c)).toBeUndefined();
    await expect(h.conn.docker.getNetwork(`mlops-it-${run}`).inspect()).rejects.toThrow();
    for (const c of ["consul", "nomad", "prometheus", "grafana"] as const) {
      const volume = await h.conn.docker.getVolume(stackVolumeName("default", name, c)).inspect();
      expect(volume.Labels?.["mlops.dev/owner-id"]).toBe(OWNER);
    }
  });
});

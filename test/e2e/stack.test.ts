// The whole MlopsStack on the seed's network (mlops-network, 172.20.0.0/16, the defaults), run
// alone. With local images (no registry here): the real Prometheus binary, stand-ins for Consul,
// Nomad and Grafana. MLOPS_E2E_OFFICIAL_IMAGES=1 runs the same suite on the official images (the
// CRD's pinned defaults), where a registry is reachable. serviceDiscovery: http, so the operator's
// /sd/prometheus lists a training container on the stack's network, and Prometheus scrapes it.
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STACK_COMPONENTS, stackContainerName } from "../../src/api/names.ts";
import type { ResourceKey } from "../../src/api/resources.ts";
import { registry } from "../../src/observability/metrics.ts";
import { type ScrapeTarget, sdHandler } from "../../src/stack/sd.ts";
import {
  cleanupDocker,
  createHarness,
  type Harness,
  isReady,
  LOCAL_IMAGES,
  stackResource,
  TEST_LABEL,
} from "../stack/harness.ts";

const official = process.env.MLOPS_E2E_OFFICIAL_IMAGES === "1";
const TRAINER = process.env.TRAINER_IMAGE ?? "mlops-operator/trainer:dev";
const IPS = {
  consul: "172.20.0.10",
  nomad: "172.20.0.20",
  prometheus: "172.20.0.30",
  grafana: "172.20.0.40",
};
const images = official
  ? {}
  : Object.fromEntries(STACK_COMPONENTS.map((c) => [c, { image: LOCAL_IMAGES[c] }]));
const stack = stackResource("platform", {
  ...images,
  prometheus: {
    ...(images as Record<string, object>).prometheus,
    serviceDiscovery: "http",
    scrapeInterval: "2s",
  },
});
const key = "MlopsStack/default/platform" as ResourceKey;
const targets: ScrapeTarget[] = [];
let server: Server;
let h: Harness;
let trainerId: string | undefined;

async function query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`http://127.0.0.1:9090/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as {
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  return body.data.result;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms${last ? `: ${String(last)}` : ""}`);
}

beforeAll(async () => {
  // The operator's HTTP server as the composition root serves it: /metrics and /sd/prometheus,
  // on every interface so the stack reaches it at the network's gateway.
  const sd = sdHandler({ targets: () => targets });
  server = createServer((req, res) => {
    if (req.url?.startsWith("/sd/prometheus")) return sd(req, res);
    if (req.url?.startsWith("/metrics")) {
      void registry
        .metrics()
        .then((text) => res.writeHead(200, { "content-type": registry.contentType }).end(text));
      return;
    }
    res.writeHead(404).end();
  });
  server.listen(0, "0.0.0.0");
  await once(server, "listening");
  h = await createHarness({
    ownerId: "e2e-stack",
    operatorPort: (server.address() as AddressInfo).port,
    suite: "stack-e2e",
  });
});

afterAll(async () => {
  if (trainerId)
    await h.conn.docker
      .getContainer(trainerId)
      .remove({ force: true })
      .catch(() => undefined);
  if (h) {
    await h.reconciler.finalize(key, stack, h.ctx).catch(() => undefined);
    h.close();
    await cleanupDocker(h.conn, "stack-e2e");
  }
  server?.close();
});

describe(`MlopsStack end to end (${official ? "official" : "local"} images)`, () => {
  it("brings the seed's platform up: fixed IPs, every component healthy, published on loopback", async () => {
    const ms = await h.converge(stack, isReady, 180_000);
    console.info(
      `e2e stack Ready in ${Math.round(ms)} ms (Nomad privileged: ${(h as { privileged?: boolean }).privileged})`,
    );
    for (const component of STACK_COMPONENTS) {
      const inspect = await h.conn.docker
        .getContainer(stackContainerName("default", "platform", component))
        .inspect();
      expect(inspect.NetworkSettings.Networks["mlops-network"]?.IPAddress).toBe(IPS[component]);
      expect(inspect.State.Health?.Status).toBe("healthy");
      expect(inspect.Config.Labels?.[TEST_LABEL]).toBe("true");
      if (component === "nomad") expect(inspect.Config.User).toBe("0:0");
      else expect(inspect.Config.User).not.toMatch(/^0:/);
    }
    const network = await h.conn.docker.getNetwork("mlops-network").inspect();
    expect(network.IPAM?.Config?.[0]?.Subnet).toBe("172.20.0.0/16");
    expect(h.statusOf(stack)?.endpoints?.grafana).toEqual({
      internal: "http://172.20.0.40:3000",
      host: "http://127.0.0.1:3000",
    });
    for (const [url, want] of [
      ["http://127.0.0.1:8500/v1/status/leader", 200],
      ["http://127.0.0.1:4646/v1/status/leader", 200],
      ["http://127.0.0.1:9090/-/ready", 200],
      ["http://127.0.0.1:3000/api/health", 200],
    ] as const) {
      expect((await fetch(url)).status, url).toBe(want);
    }
  });

  it("Prometheus scrapes the operator at the gateway, every component, and a job found through /sd/prometheus", async () => {
    const trainer = await h.conn.docker.createContainer({
      name: "mlops-e2e-trainer",
      Image: TRAINER,
      Env: ["EPOCHS=600", "EPOCH_SECONDS=1", "METRICS_PORT=8000"],
      Labels: { [TEST_LABEL]: "true", "mlops.dev/test-suite": "stack-e2e" },
      HostConfig: { NetworkMode: "mlops-network", Init: true },
    });
    trainerId = trainer.id;
    await trainer.start();
    const ip = (await trainer.inspect()).NetworkSettings.Networks["mlops-network"]?.IPAddress ?? "";
    // Dynamic addresses come from the upper half (172.20.128.0/17): never a component's fixed IP.
    expect(ip).toMatch(/^172\.20\.(12[89]|1[3-9]\d|2\d\d)\.\d+$/);
    targets.push({
      address: `${ip}:8000`,
      metricsPath: "/metrics",
      namespace: "default",
      name: "mnist",
      labels: { replica: "0" },
    });

    const up = await until("up == 1 for the operator, the components and the job", async () => {
      const result = await query("up == 1");
      const jobs = new Set(result.map((r) => r.metric.job));
      const wanted = ["mlops-operator", "consul", "nomad", "prometheus", "grafana", "mlops-trainingjobs"];
      return wanted.every((j) => jobs.has(j)) ? result : undefined;
    });
    const operator = up.find((r) => r.metric.job === "mlops-operator");
    expect(operator?.metric.instance).toMatch(/^172\.20\.0\.1:\d+$/);
    const job = up.find((r) => r.metric.job === "mlops-trainingjobs");
    expect(job?.metric).toMatchObject({
      instance: `${ip}:8000`,
      mlops_namespace: "default",
      mlops_name: "mnist",
    });
    const loss = await until("training_loss from the job", async () => {
      const r = await query('training_loss{job="mlops-trainingjobs"}');
      return r.length > 0 ? r : undefined;
    });
    expect(Number(loss[0]?.value[1])).toBeGreaterThan(0);
  });

  it("brings back a container removed by hand, at its fixed IP", async () => {
    const name = stackContainerName("default", "platform", "consul");
    const old = (await h.conn.docker.getContainer(name).inspect()).Id;
    const woke = h.nextChange(key);
    const removedAt = performance.now();
    await h.conn.docker.getContainer(old).remove({ force: true });
    const wokeAt = await woke;
    const ms = await h.converge(stack, isReady, 60_000);
    const now = await h.conn.docker.getContainer(name).inspect();
    expect(now.Id).not.toBe(old);
    expect(now.NetworkSettings.Networks["mlops-network"]?.IPAddress).toBe("172.20.0.10");
    console.info(
      `drift: event after ${Math.round(wokeAt - removedAt)} ms, Ready again ${Math.round(ms)} ms later`,
    );
  });
});

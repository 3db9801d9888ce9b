// Contract: what the Consul double accepts and answers matches the documented Consul API
// (test/contract/consul-schemas.ts). With CONSUL_HTTP_ADDR set, the same suite runs against that
// real Consul instead (it registers and removes its own uniquely named services).
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consulConfig } from "../../src/clients/consul/config.ts";
import { type ConsulDouble, startConsulDouble } from "../doubles/consul/server.ts";
import { assertConsul, type ConsulSchemaName, matchesConsul } from "./consul-schemas.ts";

const real = process.env.CONSUL_HTTP_ADDR !== undefined && process.env.CONSUL_HTTP_ADDR !== "";
const suffix = randomUUID().slice(0, 8);
const tag = `mlops-contract-${suffix}`;
const serviceName = `tj-contract-${suffix}`;
const serviceId = `_nomad-task-${randomUUID()}-train-${serviceName}-metrics`;

/** What Nomad registers for one allocation of a TrainingJob (address_mode driver, HTTP check). */
const registrationBody = {
  ID: serviceId,
  Name: serviceName,
  Tags: [tag, "prometheus"],
  Address: "172.20.0.77",
  Port: 9100,
  Meta: {
    "external-source": "nomad",
    mlops_namespace: "default",
    mlops_name: "contract",
    metrics_path: "/metrics",
  },
  Checks: [
    {
      CheckID: `_nomad-check-${suffix}`,
      Name: "metrics",
      HTTP: "http://172.20.0.77:9100/metrics",
      Method: "GET",
      Interval: "10s",
      Timeout: "2s",
      DeregisterCriticalServiceAfter: "1m",
    },
  ],
};

describe(`Consul API contract (${real ? `real Consul at ${process.env.CONSUL_HTTP_ADDR}` : "double"})`, () => {
  let double: ConsulDouble | undefined;
  let base = "";
  let headers: Record<string, string> = {};

  beforeAll(async () => {
    if (real) {
      const config = consulConfig();
      base = config.baseUrl;
      if (config.token) headers = { "X-Consul-Token": config.token };
    } else {
      double = await startConsulDouble({ waitJitter: false });
      base = double.url;
    }
  });
  afterAll(async () => {
    await fetch(`${base}/v1/agent/service/deregister/${encodeURIComponent(serviceId)}`, {
      method: "PUT",
      headers,
    });
    await double?.close();
  });

  const get = async (
    path: string,
  ): Promise<{ status: number; type: string; index: string | null; body: unknown }> => {
    const res = await fetch(base + path, { headers });
    const text = await res.text();
    return {
      status: res.status,
      type: res.headers.get("content-type") ?? "",
      index: res.headers.get("x-consul-index"),
      body: res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text,
    };
  };

  it("accepts Nomad's service registration (documented body) with 200 and an empty body", async () => {
    assertConsul("registration", registrationBody);
    const res = await fetch(`${base}/v1/agent/service/register`, {
      method: "PUT",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify(registrationBody),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
  });

  it("lists agent services as a map keyed by ID, the name in Service", async () => {
    const res = await get(`/v1/agent/services?filter=${encodeURIComponent(`"${tag}" in Tags`)}`);
    expect(res.status).toBe(200);
    assertConsul("agentServices", res.body);
    const services = res.body as Record<string, { Service: string; Meta: Record<string, string> }>;
    expect(Object.keys(services)).toEqual([serviceId]);
    expect(services[serviceId]?.Service).toBe(serviceName);
    expect(services[serviceId]?.Meta.mlops_name).toBe("contract");
  });

  it("answers health checks filtered by service tag, with X-Consul-Index", async () => {
    const res = await get(`/v1/health/state/any?filter=${encodeURIComponent(`"${tag}" in ServiceTags`)}`);
    expect(res.status).toBe(200);
    assertConsul("healthChecks", res.body);
    const checks = res.body as { ServiceID: string; Status: string }[];
    expect(checks.map((c) => c.ServiceID)).toEqual([serviceId]);
    expect(Number(res.index)).toBeGreaterThan(0);
  });

  it("answers the catalog and health of one service", async () => {
    const catalog = await get(`/v1/catalog/service/${serviceName}`);
    assertConsul("catalogService", catalog.body);
    expect((catalog.body as { ServiceMeta: Record<string, string> }[])[0]?.ServiceMeta.mlops_namespace).toBe(
      "default",
    );
    const health = await get(`/v1/health/service/${serviceName}`);
    assertConsul("healthService", health.body);
    expect((health.body as unknown[]).length).toBe(1);
    const passingOnly = await get(`/v1/health/service/${serviceName}?passing=true`);
    expect(passingOnly.body).toEqual([]); // a new HTTP check starts critical
  });

  it("answers the leader as a JSON string", async () => {
    const res = await get("/v1/status/leader");
    assertConsul("leader", res.body);
    expect(res.body).not.toBe("");
  });

  it("blocks a query until the wait elapses when nothing changes", async () => {
    const first = await get(`/v1/health/state/any?filter=${encodeURIComponent(`"${tag}" in ServiceTags`)}`);
    const started = Date.now();
    const second = await get(
      `/v1/health/state/any?index=${first.index}&wait=1s&filter=${encodeURIComponent(`"${tag}" in ServiceTags`)}`,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(second.status).toBe(200);
  });

  it("rejects bad input with plain-text errors", async () => {
    const noName = await fetch(`${base}/v1/agent/service/register`, {
      method: "PUT",
      headers,
      body: JSON.stringify({ ID: `x-${suffix}` }),
    });
    expect(noName.status).toBe(400);
    expect(noName.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await noName.text()).toMatch(/Missing service name/);
    const badFilter = await get(`/v1/health/state/any?filter=${encodeURIComponent("NoSuchField == x")}`);
    expect(badFilter.status).toBe(400);
    expect(badFilter.body).toMatch(/Failed to create boolean expression evaluator/);
  });

  it("deregisters a known id with 200 and answers 404 for an unknown one", async () => {
    const unknown = await fetch(`${base}/v1/agent/service/deregister/no-such-${suffix}`, {
      method: "PUT",
      headers,
    });
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toMatch(/Unknown service ID/);
    const known = await fetch(`${base}/v1/agent/service/deregister/${encodeURIComponent(serviceId)}`, {
      method: "PUT",
      headers,
    });
    expect(known.status).toBe(200);
    const after = await get(`/v1/agent/services?filter=${encodeURIComponent(`"${tag}" in Tags`)}`);
    expect(after.body).toEqual({});
  });
});

describe("Consul schemas can fail", () => {
  it.each([
    ["registration", { ID: "x" }, "no Name"],
    ["registration", { Name: "x", Check: { HTTP: "http://a/b" } }, "HTTP check without Interval"],
    ["registration", { Name: "x", Check: { TTL: "10 seconds" } }, "not a Go duration"],
    ["registration", { Name: "x", Tagz: [] }, "unknown field"],
    [
      "agentServices",
      { a: { ID: "a", Name: "a", Tags: [], Meta: {}, Port: 1, Address: "" } },
      "Name instead of Service",
    ],
    ["healthChecks", [{ Node: "n", CheckID: "c", Name: "c", Status: "ok" }], "unknown status"],
  ] as [ConsulSchemaName, unknown, string][])("%s rejects %j (%s)", (name, data) => {
    expect(matchesConsul(name, data)).toBe(false);
  });
});

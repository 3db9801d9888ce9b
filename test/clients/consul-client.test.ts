// ConsulClient against the Consul double on loopback: blocking queries, typed errors, bounded
// retries, and tokens that never leak into messages.
import { afterEach, describe, expect, it } from "vitest";
import { ConsulClient } from "../../src/clients/consul/client.ts";
import { nomadServiceRegistration } from "../doubles/consul/fixtures.ts";
import { type ConsulDouble, startConsulDouble } from "../doubles/consul/server.ts";

const TOKEN = "c0ffee00-secret-token-value";
const FILTER = '"mlops-operator" in ServiceTags';

let double: ConsulDouble;
let client: ConsulClient;

async function setup(
  options: { token?: string; clientToken?: string; retries?: number } = {},
): Promise<void> {
  double = await startConsulDouble({ waitJitter: false, ...(options.token ? { token: options.token } : {}) });
  client = new ConsulClient({
    address: double.url.replace("http://", ""),
    env: {},
    retries: options.retries ?? 2,
    timeoutMs: 2_000,
    stallMarginMs: 300,
    ...(options.clientToken ? { token: options.clientToken } : {}),
  });
}

afterEach(async () => {
  await client?.close();
  await double?.close();
});

async function rejection(promise: Promise<unknown>): Promise<Error & { reason?: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { reason?: string };
  }
  throw new Error("expected a rejection");
}

describe("ConsulClient", () => {
  it("reads the operator's checks, agent services, catalog and leader", async () => {
    await setup();
    double.state.registerService(
      nomadServiceRegistration({ namespace: "default", name: "a", allocId: "1111" }),
    );
    double.state.registerService({ Name: "other", Tags: ["web"], Check: { TTL: "10s" } });
    const checks = await client.checksInState("any", { filter: FILTER });
    expect(checks.value.map((c) => [c.ServiceName, c.Status])).toEqual([["tj-a", "critical"]]);
    expect(checks.index).toBeGreaterThan(0);
    const services = await client.agentServices('"mlops-operator" in Tags');
    expect(Object.values(services).map((s) => s.Meta?.mlops_name)).toEqual(["a"]);
    const catalog = await client.catalogService("tj-a");
    expect(catalog[0]?.ServiceMeta?.mlops_namespace).toBe("default");
    expect(await client.leader()).toBe("127.0.0.1:8300");
  });

  it("blocks on the index until a check changes, then answers with a higher index", async () => {
    await setup();
    const reg = nomadServiceRegistration({ namespace: "default", name: "a", allocId: "2222" });
    double.state.registerService(reg);
    const first = await client.checksInState("any", { filter: FILTER });
    const started = Date.now();
    const pending = client.checksInState("any", { filter: FILTER, index: first.index, waitMs: 5_000 });
    setTimeout(() => double.state.setServiceHealth(reg.ID as string, "passing", "HTTP GET ...: 200 OK"), 150);
    const second = await pending;
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(second.index).toBeGreaterThan(first.index);
    expect(second.value[0]?.Status).toBe("passing");
  });

  it("returns after the wait with the same index when nothing changes", async () => {
    await setup();
    const first = await client.checksInState("any", { filter: FILTER });
    const started = Date.now();
    const second = await client.checksInState("any", { filter: FILTER, index: first.index, waitMs: 300 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(second.index).toBe(first.index);
  });

  it("turns a stalled blocking query into ConsulUnavailable after wait + wait/16 + margin", async () => {
    await setup();
    await double.setOutage("stall");
    const started = Date.now();
    const error = await rejection(client.checksInState("any", { filter: FILTER, index: 5, waitMs: 200 }));
    const elapsed = Date.now() - started;
    expect(error.reason).toBe("ConsulUnavailable");
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(1_500);
    expect(double.requests.get("GET /v1/health/state/:state")).toBe(1); // a blocking query is not retried
  });

  it("maps refused connections and 'No cluster leader' to ConsulUnavailable, keeping Consul's text", async () => {
    await setup({ retries: 1 });
    await double.setOutage("error");
    const noLeader = await rejection(client.agentServices());
    expect(noLeader.reason).toBe("ConsulUnavailable");
    expect(noLeader.message).toContain("No cluster leader");
    expect(double.requests.get("GET /v1/agent/services")).toBe(2); // one retry, bounded
    await double.setOutage("refuse");
    const refused = await rejection(client.leader());
    expect(refused.reason).toBe("ConsulUnavailable");
    expect(refused.message).toMatch(/Consul at http:\/\/127\.0\.0\.1:\d+ is unreachable/);
    await double.setOutage("none");
    expect(await client.leader()).toBe("127.0.0.1:8300");
  });

  it("retries reads on 5xx a bounded number of times and recovers", async () => {
    await setup({ retries: 2 });
    double.failNext(2, 500, "rpc error: EOF");
    expect(await client.agentServices()).toEqual({});
    expect(double.requests.get("GET /v1/agent/services")).toBe(3);
    double.failNext(5, 500, "rpc error: EOF");
    const error = await rejection(client.agentServices());
    expect(error.reason).toBe("ConsulError");
    expect(double.requests.get("GET /v1/agent/services")).toBe(6);
  });

  it("answers a bad filter with ConsulRejected and Consul's plain-text reason", async () => {
    await setup();
    const error = await rejection(client.checksInState("any", { filter: "Nope == x" }));
    expect(error.reason).toBe("ConsulRejected");
    expect(error.message).toContain('Selector "Nope" is not valid');
  });

  it("reports false for deregistering an unknown id, true for a known one", async () => {
    await setup();
    await client.registerService({ ID: "svc-1", Name: "svc", Check: { TTL: "30s" } });
    expect(await client.deregisterService("svc-1")).toBe(true);
    expect(await client.deregisterService("svc-1")).toBe(false);
  });

  it("sends the token as X-Consul-Token and never puts it in an error", async () => {
    await setup({ token: TOKEN, clientToken: TOKEN });
    expect(await client.checksInState("any", { filter: FILTER })).toMatchObject({ filteredByAcls: false });
    await client.close();
    const wrong = `${TOKEN}-wrong`;
    client = new ConsulClient({ address: double.url, token: wrong, env: {}, retries: 0 });
    const error = await rejection(client.agentServices());
    expect(error.reason).toBe("Forbidden");
    expect(error.message).toContain("ACL not found");
    const everything = `${error.message} ${String(error.stack)} ${JSON.stringify(error)}`;
    expect(everything).not.toContain(TOKEN);
  });

  it("tells when ACLs filtered the answer (anonymous token)", async () => {
    await setup({ token: TOKEN });
    double.state.registerService(
      nomadServiceRegistration({ namespace: "default", name: "a", allocId: "3333" }),
    );
    const answer = await client.checksInState("any", { filter: FILTER });
    expect(answer).toMatchObject({ value: [], filteredByAcls: true });
  });
});

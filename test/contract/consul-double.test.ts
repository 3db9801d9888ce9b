// The Consul double's own behaviours that other suites rely on: the filter language, ACL answers,
// hash-blocking agent listings, snapshot restores, scripted outages, counters, the in-process hooks
// the Nomad double uses, and real HTTP checks.
import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { compileFilter } from "../doubles/consul/filter.ts";
import { nomadServiceRegistration } from "../doubles/consul/fixtures.ts";
import { type ConsulDouble, type ConsulDoubleOptions, startConsulDouble } from "../doubles/consul/server.ts";
import type { ServicesHook } from "../doubles/nomad/services.ts";

let double: ConsulDouble;
let target: Server | undefined;

async function start(options: ConsulDoubleOptions = {}): Promise<void> {
  double = await startConsulDouble({ waitJitter: false, ...options });
}

afterEach(async () => {
  await double?.close();
  await new Promise((resolve) => (target ? target.close(resolve) : resolve(undefined)));
  target = undefined;
});

const item = {
  ID: "web-1",
  Service: "web",
  Tags: ["mlops-operator", "v2"],
  Meta: { mlops_name: "a" },
  Port: 80,
};

describe("filter language (go-bexpr subset)", () => {
  it.each([
    ['"mlops-operator" in Tags', true],
    ['"v3" in Tags', false],
    ['"v3" not in Tags', true],
    ['Meta.mlops_name == "a"', true],
    ['Meta.mlops_name != "a"', false],
    ['Meta.missing == "a"', false],
    ["Meta.missing is empty", true],
    ["Tags is not empty", true],
    ['Service matches "^we"', true],
    ['Service not matches "^we"', false],
    ['Service contains "e"', true],
    ["Port == 80", true],
    ['Service == "web" and "v2" in Tags', true],
    ['Service == "db" or ("v2" in Tags and not Port == 81)', true],
    ['not (Service == "web")', false],
    ['"we" in Service', true],
    ['"mlops_name" in Meta', true],
  ])("%s → %s", (expression, expected) => {
    expect(compileFilter(expression, ["ID", "Service", "Tags", "Meta", "Port"])(item)).toBe(expected);
  });

  it.each([
    ['Nope == "x"', /Selector "Nope" is not valid/],
    ['Service == "unterminated', /unterminated string/],
    ["Service ==", /expected a value/],
    ['Service == "a" Service', /unexpected token/],
  ])("rejects %s", (expression, message) => {
    expect(() => compileFilter(expression, ["Service"])).toThrow(message);
  });
});

describe("Consul double", () => {
  it("registers and deregisters through in-process hooks, seen over HTTP, counting only HTTP writes", async () => {
    await start();
    const reg = nomadServiceRegistration({ namespace: "default", name: "a", allocId: "abcd" });
    double.registerService(reg);
    const services = (await (await fetch(`${double.url}/v1/agent/services`)).json()) as Record<
      string,
      unknown
    >;
    expect(Object.keys(services)).toEqual([reg.ID]);
    expect(double.writes).toBe(0);
    expect(double.deregisterService(reg.ID as string)).toBe(true);
    expect(double.deregisterService(reg.ID as string)).toBe(false);
    await fetch(`${double.url}/v1/agent/service/deregister/x`, { method: "PUT" });
    expect(double.writes).toBe(1);
    expect(double.recorded).toEqual([]); // no body on deregister
  });

  it("offers a services hook shaped like the Nomad double's onServices", async () => {
    await start();
    const hook = double.servicesHook();
    const pluggable: ServicesHook = hook; // type-checks against the Nomad double's onServices
    expect(pluggable).toBe(hook);
    const regs = [
      nomadServiceRegistration({ namespace: "default", name: "a", allocId: "x1" }),
      nomadServiceRegistration({ namespace: "default", name: "a", allocId: "x2" }),
    ];
    hook("register", regs);
    expect(double.state.services().map((s) => s.ID)).toEqual(regs.map((r) => r.ID));
    hook("deregister", regs);
    hook("deregister", regs); // already gone: ignored
    expect(double.state.services()).toEqual([]);
    expect(() => hook("register", [{ Name: "bad", Check: { HTTP: "http://x/", Interval: "0s" } }])).toThrow(
      /Interval must be > 0/,
    );
  });

  it("enforces ACL tokens as Consul does", async () => {
    await start({ token: "right" });
    double.registerService({ Name: "web", Tags: ["mlops-operator"], Check: { TTL: "10s" } });
    const put = (headers: Record<string, string>) =>
      fetch(`${double.url}/v1/agent/service/register`, {
        method: "PUT",
        headers,
        body: JSON.stringify({ Name: "db" }),
      });
    const anonymousWrite = await put({});
    expect([anonymousWrite.status, await anonymousWrite.text()]).toEqual([
      403,
      "Permission denied: anonymous token lacks permission 'service:write' on \"db\"",
    ]);
    const wrong = await put({ "X-Consul-Token": "wrong" });
    expect([wrong.status, await wrong.text()]).toEqual([403, "ACL not found"]);
    expect((await put({ Authorization: "Bearer right" })).status).toBe(200);
    const anonymousRead = await fetch(`${double.url}/v1/health/state/any`);
    expect(anonymousRead.headers.get("x-consul-results-filtered-by-acls")).toBe("true");
    expect(await anonymousRead.json()).toEqual([]);
    const read = await fetch(`${double.url}/v1/health/state/any`, { headers: { "X-Consul-Token": "right" } });
    expect(((await read.json()) as unknown[]).length).toBe(2); // serfHealth + web's TTL check
    expect((await fetch(`${double.url}/v1/status/leader`)).status).toBe(200);
  });

  it("blocks agent listings on the content hash until they change", async () => {
    await start();
    const first = await fetch(`${double.url}/v1/agent/services`);
    const hash = first.headers.get("x-consul-contenthash");
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    const started = Date.now();
    const pending = fetch(`${double.url}/v1/agent/services?hash=${hash}&wait=5s`);
    setTimeout(() => double.registerService({ Name: "late", Check: { TTL: "5s" } }), 100);
    const second = await pending;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(second.headers.get("x-consul-contenthash")).not.toBe(hash);
    expect(Object.keys((await second.json()) as object)).toEqual(["late"]);
  });

  it("wakes blocked queries on a snapshot restore with a smaller index", async () => {
    await start();
    for (let i = 0; i < 5; i++) double.registerService({ Name: `s${i}`, Check: { TTL: "5s" } });
    const index = Number((await fetch(`${double.url}/v1/health/state/any`)).headers.get("x-consul-index"));
    expect(index).toBeGreaterThan(5);
    const started = Date.now();
    const pending = fetch(`${double.url}/v1/health/state/any?index=${index}&wait=10s`);
    setTimeout(() => double.state.restoreSnapshot(3), 100);
    const answer = await pending;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(answer.headers.get("x-consul-index")).toBe("3");
  });

  it("scripts outages: refused, no leader, failures, stall, and recovers on the same port", async () => {
    await start();
    const url = double.url;
    await double.setOutage("refuse");
    await expect(fetch(`${url}/v1/status/leader`)).rejects.toThrow();
    await double.setOutage("error");
    const noLeader = await fetch(`${url}/v1/status/leader`);
    expect([noLeader.status, await noLeader.text()]).toEqual([
      500,
      "rpc error making call: No cluster leader",
    ]);
    await double.setOutage("none");
    double.failNext(1, 503, "unavailable");
    expect((await fetch(`${url}/v1/status/leader`)).status).toBe(503);
    expect((await fetch(`${url}/v1/status/leader`)).status).toBe(200);
    await double.setOutage("stall");
    const stalled = fetch(`${url}/v1/status/leader`, { signal: AbortSignal.timeout(300) });
    await expect(stalled).rejects.toThrow();
    await double.setOutage("none");
    expect(double.url).toBe(url);
    expect((await fetch(`${url}/v1/status/leader`)).status).toBe(200);
  });

  it("runs registered HTTP checks when asked: passing on 2xx, critical on 5xx and on refusal", async () => {
    let code = 200;
    target = createServer((_, res) => {
      res.writeHead(code);
      res.end("metrics_up 1\n");
    });
    await new Promise<void>((resolve) => target?.listen(0, "127.0.0.1", resolve));
    const port = (target.address() as { port: number }).port;
    await start({ httpChecks: true });
    const reg = nomadServiceRegistration({ namespace: "default", name: "a", allocId: "h1", port });
    (reg.Checks ?? [])[0] = { ...(reg.Checks ?? [])[0], Interval: "100ms", Timeout: "1s" };
    double.registerService(reg);
    const status = () => double.state.checks().find((c) => c.ServiceID === reg.ID);
    await until(() => status()?.Status === "passing");
    expect(status()?.Output).toContain("200 OK Output: metrics_up 1");
    code = 500;
    await until(() => status()?.Status === "critical");
    await new Promise((resolve) => target?.close(resolve));
    target = undefined;
    await until(() => /ECONNREFUSED/.test(status()?.Output ?? ""));
  });
});

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// ConsulClient's sessions and KV against the Consul double (which follows Consul's
// agent/session_endpoint.go, agent/consul/session_ttl.go, agent/consul/state/kvs.go): locks with
// acquire/release, CAS, TTL expiry at twice the TTL, and the lock delay after invalidation.
import { afterEach, describe, expect, it } from "vitest";
import { ConsulClient } from "../../src/clients/consul/client.ts";
import { type ConsulDouble, startConsulDouble } from "../doubles/consul/server.ts";

let double: ConsulDouble;
let client: ConsulClient;

async function setup(sessionTtlMinMs?: number): Promise<void> {
  double = await startConsulDouble({
    waitJitter: false,
    ...(sessionTtlMinMs === undefined ? {} : { sessionTtlMinMs }),
  });
  client = new ConsulClient({ address: double.url.replace("http://", ""), env: {}, timeoutMs: 2_000 });
}

afterEach(async () => {
  await client?.close();
  await double?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Consul sessions and KV", () => {
  it("refuses a TTL below session_ttl_min, naming the bounds", async () => {
    await setup();
    await expect(client.createSession({ TTL: "5s" })).rejects.toThrow(/Invalid Session TTL .*10s=24h0m0s/);
  });

  it("one session at a time holds a key; release frees it and the next holder bumps LockIndex", async () => {
    await setup();
    const a = await client.createSession({ TTL: "10s", LockDelay: "0s" });
    const b = await client.createSession({ TTL: "10s", LockDelay: "0s" });
    expect(await client.kvPut("mlops-operator/leader/x", { holder: "a" }, { acquire: a })).toBe(true);
    expect(await client.kvPut("mlops-operator/leader/x", { holder: "a" }, { acquire: a })).toBe(true);
    expect(await client.kvPut("mlops-operator/leader/x", { holder: "b" }, { acquire: b })).toBe(false);
    const held = await client.kvGet("mlops-operator/leader/x");
    expect(held).toMatchObject({ Session: a, LockIndex: 1, Value: '{"holder":"a"}' });
    expect(await client.kvPut("mlops-operator/leader/x", {}, { release: b })).toBe(false);
    expect(await client.kvPut("mlops-operator/leader/x", {}, { release: a })).toBe(true);
    expect((await client.kvGet("mlops-operator/leader/x"))?.Session).toBeUndefined();
    expect(await client.kvPut("mlops-operator/leader/x", { holder: "b" }, { acquire: b })).toBe(true);
    expect(await client.kvGet("mlops-operator/leader/x")).toMatchObject({ Session: b, LockIndex: 2 });
    expect(await client.kvGet("missing")).toBeUndefined();
  });

  it("writes with CAS only against the ModifyIndex read (0: only a new key)", async () => {
    await setup();
    expect(await client.kvPut("queue/order", [1], { cas: 0 })).toBe(true);
    expect(await client.kvPut("queue/order", [2], { cas: 0 })).toBe(false);
    const read = await client.kvGet("queue/order");
    expect(await client.kvPut("queue/order", [3], { cas: read?.ModifyIndex ?? -1 })).toBe(true);
    expect(await client.kvPut("queue/order", [4], { cas: read?.ModifyIndex ?? -1 })).toBe(false);
    expect((await client.kvGet("queue/order"))?.Value).toBe("[3]");
  });

  it("invalidates a session not renewed for twice its TTL and frees its key", async () => {
    await setup(100);
    const a = await client.createSession({ TTL: "200ms", LockDelay: "0s" });
    expect(await client.kvPut("k", {}, { acquire: a })).toBe(true);
    await sleep(300); // past the TTL, within twice it: still valid
    expect(await client.renewSession(a)).toBe(true);
    await sleep(300);
    expect(await client.renewSession(a)).toBe(true);
    await sleep(450);
    expect(await client.renewSession(a)).toBe(false);
    expect((await client.kvGet("k"))?.Session).toBeUndefined();
    await expect(client.kvPut("k", {}, { acquire: a })).rejects.toThrow(/invalid session/);
  });

  it("keeps a key from being acquired for the lock delay after its session is destroyed", async () => {
    await setup();
    const a = await client.createSession({ TTL: "10s", LockDelay: "300ms" });
    const b = await client.createSession({ TTL: "10s" });
    expect(await client.kvPut("k", {}, { acquire: a })).toBe(true);
    await client.destroySession(a);
    expect(await client.kvPut("k", {}, { acquire: b })).toBe(false);
    await sleep(350);
    expect(await client.kvPut("k", {}, { acquire: b })).toBe(true);
  });
});

// The shared operator state port, one contract over its implementations: the state directory
// (FileSharedState), Consul KV on the Consul double (ConsulSharedState, with check-and-set on
// ModifyIndex and Consul's 512 KiB kv_max_value_size, agent/kv_endpoint.go) and ConfigMaps on the
// Kubernetes double with the real @kubernetes/client-node (KubeSharedState, resourceVersion
// conflicts).
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  InvalidSharedKeyError,
  type SharedState,
  SharedValueTooLargeError,
  SharedValueUnreadableError,
} from "../../src/api/shared-state.ts";
import { ConsulClient } from "../../src/clients/consul/client.ts";
import { CONSUL_KV_MAX_VALUE_BYTES, ConsulSharedState } from "../../src/clients/consul/shared-state.ts";
import { KubeSharedState } from "../../src/sources/kubernetes/shared-state.ts";
import { FileSharedState } from "../../src/sources/state/shared-file.ts";
import { type ConsulDouble, startConsulDouble } from "../doubles/consul/server.ts";
import { KubernetesDouble } from "../doubles/kubernetes/index.ts";

let consul: ConsulDouble;
let client: ConsulClient;
let kube: KubernetesDouble;
let root = "";
let n = 0;

beforeAll(async () => {
  consul = await startConsulDouble();
  client = new ConsulClient({
    address: consul.url.replace("http://", ""),
    env: {},
    retries: 0,
    timeoutMs: 2_000,
  });
  root = await mkdtemp(join(tmpdir(), "mlops-shared-"));
  kube = new KubernetesDouble();
  await kube.start();
});

afterAll(async () => {
  await client?.close();
  await consul?.close();
  await kube?.close();
  await rm(root, { recursive: true, force: true });
});

const implementations: [string, (limit?: number) => SharedState][] = [
  [
    "state directory",
    (limit) => new FileSharedState(join(root, `s${++n}`), limit ? { maxValueBytes: limit } : {}),
  ],
  [
    "Consul KV",
    (limit) =>
      new ConsulSharedState(client, {
        prefix: `mlops-operator/leader/t${++n}/state`,
        ...(limit ? { maxValueBytes: limit } : {}),
      }),
  ],
  [
    "Kubernetes ConfigMaps",
    (limit) =>
      new KubeSharedState(kube.kubeConfig(), {
        namespace: "mlops-system",
        prefix: `op-${++n}-state`,
        ...(limit ? { maxValueBytes: limit } : {}),
      }),
  ],
];

describe.each(implementations)("shared state in the %s", (_name, make) => {
  it("answers undefined for a missing key, and creates it only with version 0", async () => {
    const state = make();
    expect(await state.get("queues/team-a/gpus")).toBeUndefined();
    expect(await state.put("queues/team-a/gpus", { a: 1 }, 5)).toBeUndefined();
    const v1 = await state.put("queues/team-a/gpus", { a: 1 }, 0);
    expect(v1).toBeGreaterThan(0);
    expect(await state.get("queues/team-a/gpus")).toEqual({ value: { a: 1 }, version: v1 });
    // Version 0 means "only if it does not exist": refused now.
    expect(await state.put("queues/team-a/gpus", { a: 2 }, 0)).toBeUndefined();
  });

  it("refuses a write with a stale version (check-and-set) and keeps the newer value", async () => {
    const state = make();
    const v1 = (await state.put("notifications/3", { n: 1 }, 0)) as number;
    const v2 = (await state.put("notifications/3", { n: 2 }, v1)) as number;
    expect(v2).not.toBe(v1);
    expect(await state.put("notifications/3", { n: 3 }, v1)).toBeUndefined();
    expect(await state.get("notifications/3")).toEqual({ value: { n: 2 }, version: v2 });
  });

  it("of two concurrent writers with one version, exactly one wins", async () => {
    const state = make();
    const v1 = (await state.put("k", { n: 0 }, 0)) as number;
    const results = await Promise.all([state.put("k", { n: 1 }, v1), state.put("k", { n: 2 }, v1)]);
    expect(results.filter((r) => r !== undefined)).toHaveLength(1);
  });

  it("refuses a value over its limit before writing anything", async () => {
    const state = make(1_000);
    const v1 = (await state.put("big", { small: true }, 0)) as number;
    await expect(state.put("big", { text: "x".repeat(2_000) }, v1)).rejects.toBeInstanceOf(
      SharedValueTooLargeError,
    );
    expect((await state.get("big"))?.value).toEqual({ small: true });
  });

  it("refuses a key that is not segments of a-z, 0-9, '.', '_', '-'", async () => {
    const state = make();
    for (const key of ["", "../x", "a//b", "A/b", "a/b/", "/a"])
      await expect(state.put(key, 1, 0)).rejects.toBeInstanceOf(InvalidSharedKeyError);
  });
});

describe("shared state in Consul KV", () => {
  it("keeps values beside the lock, as JSON, versioned by ModifyIndex", async () => {
    const state = new ConsulSharedState(client, { prefix: "mlops-operator/leader/own/state/" });
    const version = await state.put("notifications/0", { sent: {} }, 0);
    const pair = consul.sessions.get("mlops-operator/leader/own/state/notifications/0");
    expect(pair?.ModifyIndex).toBe(version);
    expect(Buffer.from(pair?.Value ?? "", "base64").toString()).toBe('{"sent":{}}');
    expect(state.maxValueBytes).toBe(CONSUL_KV_MAX_VALUE_BYTES);
  });

  it("a value Consul refuses as too large (413) is an error, not a lost check-and-set", async () => {
    // Past the client-side check (a larger limit here), Consul's own 512 KiB limit answers 413.
    const state = new ConsulSharedState(client, { prefix: "p/state", maxValueBytes: 10 * 1024 * 1024 });
    await expect(state.put("huge", "x".repeat(CONSUL_KV_MAX_VALUE_BYTES + 1), 0)).rejects.toMatchObject({
      reason: "ConsulValueTooLarge",
    });
    expect(await state.get("huge")).toBeUndefined();
  });
});

describe("shared state in Kubernetes ConfigMaps", () => {
  it("keeps a value as one ConfigMap's data.value beside the Lease, and refuses '_' (not in a name)", async () => {
    const state = new KubeSharedState(kube.kubeConfig(), {
      namespace: "mlops-system",
      prefix: "mlops-operator-x-state",
    });
    await state.put("notifications/2", { sent: {} }, 0);
    expect(kube.configMaps.get("mlops-system", "mlops-operator-x-state.notifications.2")?.data).toEqual({
      value: '{"sent":{}}',
    });
    await expect(state.put("a_b", 1, 0)).rejects.toBeInstanceOf(InvalidSharedKeyError);
  });

  it("a version another process read is unknown here: the write is refused, not blind", async () => {
    const a = new KubeSharedState(kube.kubeConfig(), { namespace: "mlops-system", prefix: "shared-y" });
    const b = new KubeSharedState(kube.kubeConfig(), { namespace: "mlops-system", prefix: "shared-y" });
    const va = (await a.put("k", { by: "a" }, 0)) as number;
    const vb = (await b.get("k"))?.version as number;
    expect(await b.put("k", { by: "b" }, vb)).toBeDefined();
    expect(await a.put("k", { by: "a again" }, va)).toBeUndefined();
    expect((await a.get("k"))?.value).toEqual({ by: "b" });
  });
});

describe("shared state in the state directory", () => {
  it("is <state dir>/<key>.json, the value's JSON (notifications.json as before)", async () => {
    const dir = join(root, "plain");
    const state = new FileSharedState(dir);
    await state.put("notifications", { sent: { a: "t" }, pending: {} }, 0);
    expect(JSON.parse(await readFile(join(dir, "notifications.json"), "utf8"))).toEqual({
      sent: { a: "t" },
      pending: {},
    });
    // A file found on disk (written by an earlier process) is version 1.
    expect((await new FileSharedState(dir).get("notifications"))?.version).toBe(1);
  });

  it("names an unreadable file, and lets it be replaced with the version it reports", async () => {
    const dir = join(root, "torn");
    const state = new FileSharedState(dir);
    await state.put("notifications", {}, 0);
    await writeFile(join(dir, "notifications.json"), "{not json");
    const fresh = new FileSharedState(dir);
    const error = await fresh.get("notifications").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SharedValueUnreadableError);
    expect((error as Error).message).toContain(join(dir, "notifications.json"));
    expect(
      await fresh.put("notifications", { ok: true }, (error as SharedValueUnreadableError).version),
    ).toBe(2);
  });
});

// The notifier's outbox over shared operator state: a transition recorded once (a new leader that
// never saw a resource reports undefined → Running; the record's previous phase makes the same id
// the old leader recorded), sent and pending ids read by the next leader, two writers' records
// merged on a check-and-set conflict, and every stored value kept within its bound.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Notifier, TrainingJob } from "../../src/api/resources.ts";
import { ConsulClient } from "../../src/clients/consul/client.ts";
import { ConsulSharedState } from "../../src/clients/consul/shared-state.ts";
import {
  NOTIFICATION_SHARDS,
  Outbox,
  OutboxFullError,
  type Payload,
  payloadOf,
} from "../../src/notifier/index.ts";
import { shardIndex } from "../../src/notifier/outbox.ts";
import { FileSharedState } from "../../src/sources/state/shared-file.ts";
import { type ConsulDouble, startConsulDouble } from "../doubles/consul/server.ts";

let consul: ConsulDouble;
let client: ConsulClient;
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
  root = await mkdtemp(join(tmpdir(), "mlops-outbox-"));
});

afterAll(async () => {
  await client?.close();
  await consul?.close();
  await rm(root, { recursive: true, force: true });
});

const consulState = (prefix = `mlops-operator/leader/o${++n}/state`) =>
  new ConsulSharedState(client, { prefix });

const notifier: Notifier = {
  apiVersion: "mlops.dev/v1alpha1",
  kind: "Notifier",
  metadata: { name: "team", namespace: "ml", generation: 1 },
  spec: { type: "webhook", address: "http://127.0.0.1:1/" } as Notifier["spec"],
};

function job(name: string, run = "run-1"): TrainingJob {
  return {
    apiVersion: "mlops.dev/v1alpha1",
    kind: "TrainingJob",
    metadata: { name, namespace: "ml", generation: 1 },
    spec: {} as TrainingJob["spec"],
    status: { run: { id: run } },
  };
}

const time = new Date("2026-05-01T12:00:00Z");
const transition = (name: string, from: string | undefined, to: string, run = "run-1") => ({
  resource: `TrainingJob/ml/${name}`,
  run,
  from,
  to,
});
const build =
  (name: string, to: string, run = "run-1") =>
  (from: string | undefined) => [payloadOf(notifier, { resource: job(name, run), from, to, time })];

describe("Outbox.record", () => {
  it("records a transition once; a later reader that never saw the resource gets nothing to send", async () => {
    const state = consulState();
    const leader = await Outbox.open(state, { shards: NOTIFICATION_SHARDS });
    const [sent] = await leader.record(
      transition("bert", "Running", "Succeeded"),
      build("bert", "Succeeded"),
    );
    expect(sent?.previousPhase).toBe("Running");
    await leader.done(sent as Payload, time);

    const next = await Outbox.open(state, { shards: NOTIFICATION_SHARDS });
    expect(next.sent()).toEqual([sent?.id]);
    expect(await next.record(transition("bert", undefined, "Succeeded"), build("bert", "Succeeded"))).toEqual(
      [],
    );
  });

  it("takes the previous phase from the record, so a transition has the id the old leader gave it", async () => {
    const state = consulState();
    const leader = await Outbox.open(state, { shards: NOTIFICATION_SHARDS });
    await leader.record(transition("gpt", undefined, "Pending"), build("gpt", "Pending"));
    const next = await Outbox.open(state, { shards: NOTIFICATION_SHARDS });
    const [payload] = await next.record(transition("gpt", undefined, "Running"), build("gpt", "Running"));
    expect(payload?.previousPhase).toBe("Pending");
    expect(payload?.id).toBe(build("gpt", "Running")("Pending")[0]?.id);
  });

  it("a new run's transitions are its own: the record of the previous run does not apply", async () => {
    const outbox = await Outbox.open(consulState());
    await outbox.record(transition("t5", "Running", "Succeeded", "run-1"), build("t5", "Succeeded", "run-1"));
    const fresh = await outbox.record(
      transition("t5", undefined, "Succeeded", "run-2"),
      build("t5", "Succeeded", "run-2"),
    );
    expect(fresh).toHaveLength(1);
    expect(fresh[0]?.previousPhase).toBeNull();
  });

  it("a notification recorded but not delivered is pending for the next reader", async () => {
    const state = consulState();
    const leader = await Outbox.open(state, { shards: NOTIFICATION_SHARDS });
    const [payload] = await leader.record(transition("vit", "Running", "Failed"), build("vit", "Failed"));
    const next = await Outbox.open(state, { shards: NOTIFICATION_SHARDS });
    expect(next.pending()).toEqual([payload]);
    await next.done(payload as Payload, time);
    expect((await Outbox.open(state, { shards: NOTIFICATION_SHARDS })).pending()).toEqual([]);
  });

  it("merges what two writers recorded when one's write loses a check-and-set", async () => {
    const state = consulState();
    const old = await Outbox.open(state);
    const current = await Outbox.open(state);
    const [a] = await old.record(transition("a", "Running", "Failed"), build("a", "Failed"));
    const [b] = await current.record(transition("b", "Running", "Failed"), build("b", "Failed")); // stale version
    await current.done(b as Payload, time);
    const read = await Outbox.open(state);
    expect(read.pending().map((p) => p.id)).toEqual([a?.id]);
    expect(read.sent()).toEqual([b?.id]);
  });
});

describe("bounds", () => {
  it("keeps each stored value under the store's limit by dropping the oldest sent ids", async () => {
    const dir = join(root, "bounded");
    const state = new FileSharedState(dir, { maxValueBytes: 4_096 });
    const outbox = await Outbox.open(state);
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      const name = `job-${i}`;
      const [p] = await outbox.record(transition(name, "Running", "Succeeded"), build(name, "Succeeded"));
      await outbox.done(p as Payload, time);
      ids.push(p?.id as string);
    }
    const stored = await state.get("notifications");
    expect(Buffer.byteLength(JSON.stringify(stored?.value))).toBeLessThanOrEqual(4_096);
    const kept = (await Outbox.open(state)).sent();
    expect(kept.length).toBeGreaterThan(10);
    expect(kept.length).toBeLessThan(200);
    expect(kept).toEqual(ids.slice(-kept.length)); // the newest are kept
  });

  it("never drops a pending notification to fit: the record is refused instead", async () => {
    const state = new FileSharedState(join(root, "full"), { maxValueBytes: 2_048 });
    const outbox = await Outbox.open(state);
    let refused: unknown;
    for (let i = 0; i < 20 && refused === undefined; i++) {
      const name = `p-${i}`;
      await outbox
        .record(transition(name, "Running", "Failed"), build(name, "Failed"))
        .catch((e: unknown) => {
          refused = e;
        });
    }
    expect(refused).toBeInstanceOf(OutboxFullError);
    const stored = (await state.get<{ pending: Record<string, Payload> }>("notifications"))?.value;
    expect(Object.keys(stored?.pending ?? {}).length).toBeGreaterThan(0);
  });

  it("spreads resources over the shards the same way in every replica", () => {
    const counts = new Array<number>(NOTIFICATION_SHARDS).fill(0);
    for (let i = 0; i < 1_600; i++) {
      const shard = shardIndex(`TrainingJob/ml/job-${i}`, NOTIFICATION_SHARDS);
      counts[shard] = (counts[shard] ?? 0) + 1;
    }
    expect(Math.min(...counts)).toBeGreaterThan(50);
    expect(shardIndex("TrainingJob/ml/bert", NOTIFICATION_SHARDS)).toBe(
      shardIndex("TrainingJob/ml/bert", NOTIFICATION_SHARDS),
    );
  });
});

// Contract: behaviours of Nomad 1.9.6 the operator relies on, each with the source it was read from.
// The same suite runs against the Nomad double and, when one is given (NOMAD_ADDR, or `make
// test-real` with hashicorp/nomad:1.9.6 agent -dev), a real Nomad. What a single real agent cannot
// show (a forwarded request, the buffer size) is checked on the double only, and says so.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NomadClient, type NomadError } from "../../src/clients/nomad/index.ts";
import { HEARTBEAT_MS as DOUBLE_HEARTBEAT_MS } from "../doubles/nomad/event-stream.ts";
import { nomadJob } from "../doubles/nomad/fixtures.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { describeReal } from "./real-servers.ts";

interface Target {
  address: string;
  token?: string;
  double?: NomadDouble;
  close(): Promise<void>;
}

const suffix = randomUUID().slice(0, 8);

const job = (id: string, namespace = "default") =>
  nomadJob(id, namespace, { contract: "mlops-operator" }, { image: "busybox:1.36", command: "true" });

/** Lines of /v1/event/stream (parsed) until `done` says so or `ms` pass. */
async function streamLines(target: Target, query: string, done: (lines: Line[]) => boolean, ms = 3_000) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  const lines: Line[] = [];
  try {
    const response = await fetch(`${target.address}/v1/event/stream?${query}`, {
      signal: controller.signal,
      headers: target.token ? { "X-Nomad-Token": target.token } : {},
    });
    let tail = "";
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      const parts = (tail + Buffer.from(chunk).toString()).split("\n");
      tail = parts.pop() ?? "";
      for (const line of parts.filter((l) => l.trim())) lines.push(JSON.parse(line));
      if (done(lines)) break;
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return lines;
}

type Line = { Index?: number; Events?: { Key: string; Namespace: string }[] };

/** The fields of Nomad 1.9.6's structs.TaskEvent, all written (no omitempty), sorted. */
const TASK_EVENT_FIELDS = [
  ...["Details", "DiskLimit", "DisplayMessage", "DownloadError", "DriverError", "DriverMessage"],
  ...["ExitCode", "FailedSibling", "FailsTask", "GenericSource", "KillError", "KillReason"],
  ...["KillTimeout", "Message", "RestartReason", "SetupError", "Signal", "StartDelay"],
  ...["TaskSignal", "TaskSignalReason", "Time", "Type", "ValidationError", "VaultError"],
];
const framesOf = (lines: Line[]) => lines.filter((l) => l.Index !== undefined);

function behaviours(open: () => Promise<Target>) {
  let target: Target;
  let client: NomadClient;
  const created: [string, string][] = [];
  const namespaces: string[] = [];

  beforeAll(async () => {
    target = await open();
    client = new NomadClient(
      { address: target.address, ...(target.token ? { token: target.token } : {}) },
      {},
    );
  });
  afterAll(async () => {
    for (const [ns, id] of created) await client.deregister(id, ns, { purge: true }).catch(() => undefined);
    for (const ns of namespaces) await fetch(`${target.address}/v1/namespace/${ns}`, { method: "DELETE" });
    await client.close();
    await target.close();
  });

  async function register(id: string, namespace = "default", enforceIndex?: number) {
    const answer = await client.register(
      job(id, namespace),
      enforceIndex === undefined ? {} : { enforceIndex },
    );
    created.push([namespace, id]);
    return answer;
  }

  it("check-and-set: a 500 whose body says 'Enforcing job modify index' (nomad/job_endpoint.go Register)", async () => {
    const id = `cas-${suffix}`;
    await register(id, "default", 0);
    const conflict = (await register(id, "default", 0).catch((e: unknown) => e)) as NomadError;
    expect(conflict.status).toBe(500);
    expect(conflict.body).toContain("Enforcing job modify index 0");
    expect(conflict.reason).toBe("NomadConflict");
  });

  it("a task event has every field of structs.TaskEvent, Details as its setters fill them (nomad/structs/structs.go)", async () => {
    const id = `events-${suffix}`;
    await register(id);
    let events: Record<string, unknown>[] = [];
    const deadline = Date.now() + 60_000; // a real agent starts and runs the task
    while (Date.now() < deadline) {
      const [stub] = await client.jobAllocations(id, "default");
      if (stub && target.double) {
        target.double.lifecycle.running(stub.ID);
        target.double.lifecycle.exit(stub.ID, { exitCode: 0 });
      }
      if (stub) {
        const headers: Record<string, string> = target.token ? { "X-Nomad-Token": target.token } : {};
        const alloc = (await (
          await fetch(`${target.address}/v1/allocation/${stub.ID}`, { headers })
        ).json()) as {
          TaskStates?: Record<string, { Events: Record<string, unknown>[] }>;
        };
        events = Object.values(alloc.TaskStates ?? {}).flatMap((s) => s.Events ?? []);
        if (events.some((e) => e.Type === "Terminated")) break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(events.length).toBeGreaterThan(1);
    for (const event of events)
      expect(Object.keys(event).sort(), String(event.Type)).toEqual(TASK_EVENT_FIELDS);
    // SetExitCode, SetSignal, SetOOMKilled (client/allocrunner/taskrunner/task_runner.go emitExitResultEvent)
    expect(events.find((e) => e.Type === "Terminated")?.Details).toMatchObject({
      exit_code: "0",
      signal: "0",
      oom_killed: "false",
    });
  });

  it("deregistering an unknown job: 200, empty EvalID, JobModifyIndex 0 (nomad/job_endpoint.go Deregister)", async () => {
    const response = await fetch(`${target.address}/v1/job/never-${suffix}?purge=true`, { method: "DELETE" });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ EvalID: "", EvalCreateIndex: 0, JobModifyIndex: 0 });
  });

  it("the event stream sends `{}` at connect, before any event (nomad/stream/ndjson.go NewJsonStream)", async () => {
    const started = performance.now();
    const lines = await streamLines(target, "topic=Job:nothing-matches", (l) => l.length > 0, 5_000);
    expect(lines[0]).toEqual({});
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("without index the stream starts at the oldest buffered item (nomad/stream/event_broker.go Subscribe)", async () => {
    const id = `oldest-${suffix}`;
    await register(id);
    const lines = await streamLines(target, `topic=Job:${id}`, (l) => framesOf(l).length > 0);
    expect(framesOf(lines)[0]?.Events?.[0]?.Key).toBe(id);
  });

  it("index=N starts at N; past the newest item, at the newest (nomad/stream/event_buffer.go StartAtClosest)", async () => {
    const id = `index-${suffix}`;
    const { JobModifyIndex } = await register(id);
    const at = await streamLines(
      target,
      `topic=Job:${id}&index=${JobModifyIndex}`,
      (l) => framesOf(l).length > 0,
    );
    expect(framesOf(at)[0]?.Index).toBe(JobModifyIndex);
    const beyond = JobModifyIndex + 1_000_000;
    const past = await streamLines(target, `topic=*&index=${beyond}`, (l) => framesOf(l).length > 0);
    expect(framesOf(past)[0]?.Index).toBeLessThan(beyond);
    expect(framesOf(past)[0]?.Index).toBeGreaterThanOrEqual(JobModifyIndex);
  });

  it("namespace=* covers the namespaces that exist at subscribe (nomad/event_endpoint.go validateACL)", async () => {
    const ns = `late-${suffix}`;
    const id = `in-late-${suffix}`;
    const before = streamLines(target, "topic=Job:*&namespace=*", (l) =>
      framesOf(l).some((f) => f.Events?.some((e) => e.Key === id)),
    );
    await new Promise((r) => setTimeout(r, 300)); // the first stream is subscribed
    const put = await fetch(`${target.address}/v1/namespace`, {
      method: "PUT",
      body: JSON.stringify({ Name: ns }),
    });
    expect(put.status).toBe(200);
    namespaces.push(ns);
    const { JobModifyIndex } = await register(id, ns);
    const after = await streamLines(target, `topic=Job:*&namespace=*&index=${JobModifyIndex}`, (l) =>
      framesOf(l).some((f) => f.Events?.some((e) => e.Key === id)),
    );
    expect(framesOf(after).some((f) => f.Events?.some((e) => e.Key === id && e.Namespace === ns))).toBe(true);
    expect(framesOf(await before).some((f) => f.Events?.some((e) => e.Key === id))).toBe(false);
  });

  it("/v1/namespaces is a blocking query: it answers when a namespace is created (nomad/namespace_endpoint.go)", async () => {
    const first = await client.query<{ Name: string }[]>("/v1/namespaces", "/v1/namespaces");
    const ns = `block-${suffix}`;
    const started = performance.now();
    const waiting = client.query<{ Name: string }[]>("/v1/namespaces", "/v1/namespaces", {
      index: first.meta.index,
      waitMs: 20_000,
    });
    setTimeout(() => {
      void fetch(`${target.address}/v1/namespace`, { method: "PUT", body: JSON.stringify({ Name: ns }) });
      namespaces.push(ns);
    }, 300);
    const answer = await waiting;
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(answer.meta.index).toBeGreaterThan(first.meta.index);
    expect(answer.body.map((n) => n.Name)).toContain(ns);
  });
}

describe("Nomad behaviours — the double", () => {
  behaviours(async () => {
    const double = await startNomadDouble();
    return { address: double.address, double, close: () => double.close() };
  });
});

describeReal("nomad", "Nomad behaviours", (address) => {
  behaviours(async () => ({
    address,
    ...(process.env.NOMAD_TOKEN ? { token: process.env.NOMAD_TOKEN } : {}),
    close: async () => {},
  }));
});

// What one real agent cannot show, on the double only.
describe("Nomad behaviours a single agent cannot show — the double", () => {
  let double: NomadDouble;
  afterAll(async () => double?.close());

  it("forwarded to the leader, a conflict reads 'rpc error: Enforcing job modify index …' (helper/pool/pool.go)", async () => {
    double = await startNomadDouble({ forwarded: true });
    const client = new NomadClient({ address: double.address }, {});
    await client.register(job("fwd"), { enforceIndex: 0 });
    const conflict = (await client
      .register(job("fwd"), { enforceIndex: 0 })
      .catch((e: unknown) => e)) as NomadError;
    expect(conflict.body).toMatch(/^rpc error: Enforcing job modify index 0/);
    expect(conflict.reason).toBe("NomadConflict");
    await client.close();
    await double.close();
  });

  it("heartbeats every 30 s by default (nomad/event_endpoint.go: stream.NewJsonStream(ctx, 30*time.Second))", () => {
    expect(DOUBLE_HEARTBEAT_MS).toBe(30_000);
  });

  it("the event buffer holds raft-index items, not events (event_buffer_size; nomad/stream/event_buffer.go)", async () => {
    double = await startNomadDouble({ eventBufferSize: 2 });
    const client = new NomadClient({ address: double.address }, {});
    for (const id of ["b1", "b2", "b3"])
      await client.register({ ...job(id), TaskGroups: job(id).TaskGroups.map((g) => ({ ...g, Count: 3 })) });
    const lines = await streamLines(
      { address: double.address, close: async () => {} },
      "topic=*",
      (l) => framesOf(l).length >= 2,
      1_000,
    );
    const frames = framesOf(lines) as { Index: number; Events: unknown[] }[];
    expect(frames).toHaveLength(2);
    expect(frames.reduce((n, f) => n + f.Events.length, 0)).toBeGreaterThan(2);
    await client.close();
  });
});

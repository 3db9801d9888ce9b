import { firstValueFrom, type Subscription } from "rxjs";
import { filter, take, toArray } from "rxjs/operators";
import { afterEach, describe, expect, it } from "vitest";
import {
  DEFAULT_STALL_MS,
  HEARTBEAT_MS,
  NomadClient,
  nomadEventStream,
  type StreamSignal,
} from "../../src/clients/nomad/index.ts";
import type { NomadJob } from "../../src/clients/nomad/types.ts";
import { NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";

function job(id: string): NomadJob {
  return {
    ID: id,
    Name: id,
    Namespace: "default",
    Type: "batch",
    Priority: 50,
    Datacenters: ["*"],
    TaskGroups: [
      {
        Name: "train",
        Count: 1,
        Tasks: [
          { Name: "main", Driver: "docker", Config: { image: "x" }, Resources: { CPU: 100, MemoryMB: 64 } },
        ],
      },
    ],
  };
}

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("Nomad event stream", () => {
  let nomad: NomadDouble;
  let client: NomadClient;
  let subscription: Subscription | undefined;
  afterEach(async () => {
    subscription?.unsubscribe();
    await client.close();
    await nomad.close();
  });

  function collect(options: Parameters<typeof nomadEventStream>[1] = {}) {
    const signals: StreamSignal[] = [];
    subscription = nomadEventStream(client, { backoffBaseMs: 20, backoffMaxMs: 200, ...options }).subscribe(
      (s) => signals.push(s),
    );
    const keys = () =>
      signals.flatMap((s) =>
        s.type === "events" ? s.events.map((e) => `${e.Topic}:${e.Type}:${e.Key}`) : [],
      );
    const indexes = () => signals.flatMap((s) => (s.type === "events" ? [s.index] : []));
    return { signals, keys, indexes };
  }

  /** A double whose job `a` was registered and placed, its allocation then set running; the stream's signals. */
  async function jobRunning() {
    nomad = await startNomadDouble({ heartbeatMs: 1_000 });
    client = new NomadClient({ address: nomad.address }, {});
    const collected = collect();
    await until(() => nomad.openStreams === 1);
    await client.register(job("a"));
    await until(() => collected.keys().length === 3); // the register's and its plan's events
    nomad.lifecycle.running(nomad.allocations("default", "a")[0]?.ID ?? "");
    return collected;
  }

  it("one stream carries Job and Allocation events of every namespace; heartbeats are skipped", async () => {
    nomad = await startNomadDouble({ heartbeatMs: 20, namespaces: ["team-a"] });
    client = new NomadClient({ address: nomad.address }, {});
    const { keys, signals } = collect();
    await until(() => nomad.openStreams === 1);
    await client.register(job("a"));
    await client.register({ ...job("b"), Namespace: "team-a" });
    await until(() => keys().length >= 6);
    // A placement is the evaluation's plan (ApplyPlanResults): its events are "PlanResult", the job's
    // too (running from then on: an allocation of it is not terminal, state_store.go getJobStatus).
    expect(keys()).toEqual([
      "Job:JobRegistered:a",
      expect.stringMatching(/^Allocation:PlanResult:/),
      "Job:PlanResult:a",
      "Job:JobRegistered:b",
      expect.stringMatching(/^Allocation:PlanResult:/),
      "Job:PlanResult:b",
    ]);
    const events = signals.flatMap((s) => (s.type === "events" ? s.events : []));
    const alloc = events.find((e) => e.Topic === "Allocation");
    expect(alloc?.FilterKeys).toEqual(["a"]);
    // The register's write, then its plan's: the placement comes at a later index than the job.
    const registered = events.find((e) => e.Topic === "Job" && e.Key === "a");
    expect(alloc?.Index).toBeGreaterThan(registered?.Index ?? Number.POSITIVE_INFINITY);
    await new Promise((r) => setTimeout(r, 100)); // several heartbeats
    expect(signals.filter((s) => s.type === "resync")).toHaveLength(0);
  });

  it("a job's status changed by its allocation's client update comes as a Job event of that write", async () => {
    // nomad/state/events.go: a write's event type goes to every table it changed; a client's update of
    // an allocation (AllocClientUpdateRequestType) that moves the job's status writes the job too. Its
    // start does not (the job is running since the placement); its end does (dead).
    const { keys } = await jobRunning();
    await until(() => keys().length === 4);
    nomad.lifecycle.exit(nomad.allocations("default", "a")[0]?.ID ?? "", { exitCode: 0 });
    await until(() => keys().length === 6);
    expect(keys().slice(3)).toEqual([
      expect.stringMatching(/^Allocation:AllocationUpdated:/),
      expect.stringMatching(/^Allocation:AllocationUpdated:/),
      "Job:AllocationUpdated:a",
    ]);
  });

  it("a stopped allocation: the plan's desired stop, then its client's completion, two writes", async () => {
    const { signals } = await jobRunning();
    const allocEvents = () =>
      signals
        .flatMap((s) => (s.type === "events" ? s.events : []))
        .filter((e) => e.Topic === "Allocation")
        .map((e) => {
          const a = e.Payload.Allocation as { DesiredStatus: string; ClientStatus: string };
          return { type: e.Type, index: e.Index, desired: a.DesiredStatus, client: a.ClientStatus };
        });
    await until(() => allocEvents().some((e) => e.client === "running"));
    await client.deregister("a", "default", { purge: false });
    await until(() => allocEvents().some((e) => e.client === "complete"));
    const [stop, done] = allocEvents().slice(-2);
    expect(stop).toMatchObject({ type: "PlanResult", desired: "stop", client: "running" });
    expect(done).toMatchObject({ type: "AllocationUpdated", desired: "stop", client: "complete" });
    expect(done?.index).toBeGreaterThan(stop?.index ?? Number.POSITIVE_INFINITY);
  });

  it("resumes from the last index after a reconnect, then asks for a re-list", async () => {
    nomad = await startNomadDouble({ heartbeatMs: 1_000 });
    client = new NomadClient({ address: nomad.address }, {});
    const { signals, keys, indexes } = collect();
    await until(() => nomad.openStreams === 1);
    await client.register(job("a"));
    await until(() => keys().length === 3);
    nomad.dropStreams();
    await client.register(job("b")); // while disconnected: must not be lost
    await until(() => keys().length === 6);
    expect(keys().filter((k) => k.startsWith("Job:JobRegistered"))).toEqual([
      "Job:JobRegistered:a",
      "Job:JobRegistered:b",
    ]);
    const seen = indexes();
    expect(new Set(seen).size).toBe(seen.length); // no duplicates after resuming
    expect(seen).toEqual([...seen].sort((x, y) => x - y));
    expect(signals.filter((s) => s.type === "resync")).toHaveLength(1);
  });

  it("restarts a stream that went silent (stall watchdog)", async () => {
    nomad = await startNomadDouble({ heartbeatMs: 20 });
    client = new NomadClient({ address: nomad.address }, {});
    const { signals, keys } = collect({ stallMs: 150 });
    await until(() => nomad.openStreams === 1);
    nomad.stallStreams();
    await until(() => signals.some((s) => s.type === "resync"), 2_000);
    await client.register(job("a"));
    await until(() => keys().includes("Job:JobRegistered:a"));
  });

  it("backs off while Nomad is away and converges when it returns", async () => {
    nomad = await startNomadDouble({ heartbeatMs: 50 });
    client = new NomadClient({ address: nomad.address }, {});
    const errors: unknown[] = [];
    const { signals, keys } = collect({ onError: (e) => errors.push(e) });
    await until(() => nomad.openStreams === 1);
    await nomad.setOutage("refuse");
    await new Promise((r) => setTimeout(r, 500));
    // 20 ms doubling up to 200 ms: a handful of attempts in 500 ms, not a busy loop.
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors.length).toBeLessThan(15);
    await nomad.setOutage("none");
    await until(() => nomad.openStreams === 1);
    await client.register(job("a"));
    await until(() => keys().includes("Job:JobRegistered:a"));
    expect(signals.some((s) => s.type === "resync")).toBe(true);
  });

  it("narrows by topic key (Job:<id>) when asked", async () => {
    nomad = await startNomadDouble({ heartbeatMs: 1_000 });
    client = new NomadClient({ address: nomad.address }, {});
    const stream = nomadEventStream(client, { topics: ["Job:b"] }).pipe(
      filter((s): s is Extract<StreamSignal, { type: "events" }> => s.type === "events"),
      take(1),
      toArray(),
    );
    const first = firstValueFrom(stream);
    await until(() => nomad.openStreams === 1);
    await client.register(job("a"));
    await client.register(job("b"));
    const [frame] = await first;
    expect(frame?.events.map((e) => e.Key)).toEqual(["b"]);
  });

  it("the server keeps only a small buffer: events missed beyond it are gone, hence the re-list", async () => {
    nomad = await startNomadDouble({ heartbeatMs: 1_000, eventBufferSize: 4 });
    client = new NomadClient({ address: nomad.address }, {});
    // A reconnect well after the six registrations below, even on a loaded machine: the stream must
    // resume past the buffer's end, not catch the registrations live.
    const { signals, keys } = collect({ backoffBaseMs: 3_000, backoffMaxMs: 3_000 });
    await until(() => nomad.openStreams === 1);
    await client.register(job("first"));
    await until(() => keys().length === 3);
    nomad.dropStreams();
    for (let i = 0; i < 6; i++) await client.register(job(`missed-${i}`)); // 18 events, buffer of 4
    await until(() => signals.some((s) => s.type === "resync"));
    await client.register(job("last"));
    await until(() => keys().includes("Job:JobRegistered:last"));
    const jobs = keys().filter((k) => k.startsWith("Job:"));
    expect(jobs).not.toContain("Job:JobRegistered:missed-0");
    expect(jobs).toContain("Job:JobRegistered:missed-5");
  });

  it("waits two heartbeats before calling a stream stalled (Nomad heartbeats every 30 s)", () => {
    // nomad/event_endpoint.go: stream.NewJsonStream(ctx, 30*time.Second). The old 35 s limit left 5 s
    // for a loaded server; a heartbeat may now be a whole interval late.
    expect(HEARTBEAT_MS).toBe(30_000);
    expect(DEFAULT_STALL_MS).toBeGreaterThanOrEqual(2 * HEARTBEAT_MS);
  });

  it("an index lower than one already delivered (Nomad's state reset) is followed, with a re-list", async () => {
    nomad = await startNomadDouble({ heartbeatMs: 1_000 });
    const port = Number(new URL(nomad.address).port);
    client = new NomadClient({ address: nomad.address }, {});
    const { signals, keys } = collect();
    await until(() => nomad.openStreams === 1);
    for (let i = 0; i < 10; i++) await client.register(job(`old-${i}`));
    await until(() => keys().length === 30);
    const before = Math.max(...signals.flatMap((s) => (s.type === "events" ? [s.index] : [])));
    // A new server on the same address, its raft index back at 1 (a fresh cluster, a restored snapshot).
    await nomad.close();
    nomad = await new NomadDouble({ port, heartbeatMs: 1_000 }).start();
    await until(() => nomad.openStreams === 1);
    await client.register(job("after-reset"));
    await until(() => keys().includes("Job:JobRegistered:after-reset"), 5_000);
    const after = signals.flatMap((s) => (s.type === "events" ? [s.index] : [])).at(-1) ?? 0;
    expect(after).toBeLessThan(before);
    expect(
      signals.some((s) => s.type === "resync" && s.reset === true && /index went back/.test(s.cause)),
    ).toBe(true);
  });
});

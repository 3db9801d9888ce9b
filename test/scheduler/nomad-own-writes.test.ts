// Events that only confirm what the operator just wrote (its register's JobRegistered event, the new
// allocation that register placed) wake nothing; anything else about the job still does.
import type { Subscription } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import type { ResourceKey } from "../../src/api/resources.ts";
import { NomadClient } from "../../src/clients/nomad/index.ts";
import type { NomadAllocation, NomadJob } from "../../src/clients/nomad/types.ts";
import { NomadScheduler } from "../../src/scheduler/nomad/index.ts";
import { isQuietNewAlloc, OwnWrites } from "../../src/scheduler/nomad/own-writes.ts";
import type { RunRequest } from "../../src/scheduler/port.ts";
import { runRequest } from "../doubles/nomad/fixtures.ts";
import { NomadDouble } from "../doubles/nomad/index.ts";

const KEY = "TrainingJob/team-a/a" as ResourceKey;
const WHERE = "team-a/a";
const job = (over: Partial<NomadJob> = {}) =>
  ({ ID: "a", Namespace: "team-a", Status: "pending", Stop: false, JobModifyIndex: 10, ...over }) as NomadJob;
const alloc = (over: Partial<NomadAllocation> = {}) =>
  ({
    ID: "x",
    JobID: "a",
    Namespace: "team-a",
    ClientStatus: "pending",
    DesiredStatus: "run",
    CreateIndex: 11,
    TaskStates: null,
    ...over,
  }) as NomadAllocation;
const task = (over: object = {}) => ({
  State: "pending",
  Failed: false,
  Restarts: 0,
  StartedAt: null,
  FinishedAt: null,
  Events: [{ Type: "Received", Time: 1 }],
  ...over,
});

describe("OwnWrites", () => {
  it.each([
    ["its own register's JobRegistered", job(), false],
    ["a register by someone else (another JobModifyIndex)", job({ JobModifyIndex: 12 }), true],
    ["the job stopped", job({ Stop: true }), true],
    ["the job running (a register of a job with live allocations)", job({ Status: "running" }), false],
    ["the job dead", job({ Status: "dead" }), true],
  ])("after a register at index 10, a Job event: %s wakes = %s", (_what, event, wakes) => {
    const own = new OwnWrites();
    own.begin(WHERE);
    expect(own.end(WHERE, 10)).toBeUndefined();
    expect(own.jobWakes(WHERE, KEY, "JobRegistered", event)).toBe(wakes);
  });

  it.each([
    ["its plan's PlanResult (placed: running)", "PlanResult", job({ Status: "running" }), false],
    ["a client's update that ended it (dead)", "AllocationUpdated", job({ Status: "dead" }), true],
    ["a PlanResult of another version", "PlanResult", job({ Status: "running", JobModifyIndex: 12 }), true],
  ])("after a register at index 10, a Job event: %s wakes = %s", (_what, type, event, wakes) => {
    const own = new OwnWrites();
    own.begin(WHERE);
    own.end(WHERE, 10);
    expect(own.jobWakes(WHERE, KEY, type, event)).toBe(wakes);
  });

  it.each([
    ["the allocation it placed, pending", alloc(), false],
    [
      "the allocation with the client's Received event",
      alloc({ TaskStates: { main: task() } as never }),
      false,
    ],
    ["an allocation of an older version", alloc({ CreateIndex: 9 }), true],
    ["running", alloc({ ClientStatus: "running" }), true],
    ["failed", alloc({ ClientStatus: "failed" }), true],
    ["desired to stop", alloc({ DesiredStatus: "stop" }), true],
    ["a replacement", alloc({ PreviousAllocation: "w" }), true],
    ["a task restarted", alloc({ TaskStates: { main: task({ Restarts: 1 }) } as never }), true],
    [
      "a task's driver failed (image pull)",
      alloc({
        TaskStates: {
          main: task({ Events: [{ Type: "Driver Failure", Time: 2, DriverError: "Failed to pull `x`" }] }),
        } as never,
      }),
      true,
    ],
  ])("after a register at index 10, an Allocation event: %s wakes = %s", (_what, event, wakes) => {
    const own = new OwnWrites();
    own.begin(WHERE);
    own.end(WHERE, 10);
    expect(own.allocWakes(WHERE, KEY, event)).toBe(wakes);
  });

  it("wakes for every event of a job it did not register, and for all after the first news", () => {
    const own = new OwnWrites();
    expect(own.jobWakes(WHERE, KEY, "JobRegistered", job())).toBe(true);
    own.begin(WHERE);
    own.end(WHERE, 10);
    expect(own.allocWakes(WHERE, KEY, alloc({ ClientStatus: "running" }))).toBe(true);
    expect(own.jobWakes(WHERE, KEY, "JobRegistered", job())).toBe(true); // forgotten: no longer ours to skip
  });

  it("holds events that arrive before the register's answer, then drops confirmations and reports news", () => {
    const own = new OwnWrites();
    own.begin(WHERE);
    expect(own.jobWakes(WHERE, KEY, "JobRegistered", job())).toBe(false);
    expect(own.allocWakes(WHERE, KEY, alloc())).toBe(false);
    expect(own.end(WHERE, 10)).toBeUndefined();

    own.begin(WHERE);
    expect(own.jobWakes(WHERE, KEY, "JobRegistered", job({ JobModifyIndex: 20 }))).toBe(false);
    expect(own.end(WHERE, 21)).toEqual({ key: KEY, ended: false }); // the event was another write's

    own.begin(WHERE);
    expect(own.allocWakes(WHERE, KEY, alloc({ ClientStatus: "running" }))).toBe(false);
    expect(own.end(WHERE, 30)).toEqual({ key: KEY, ended: false });

    // A run shorter than the register's answer: its end was held, and is reported as an ending.
    own.begin(WHERE);
    expect(own.allocWakes(WHERE, KEY, alloc({ ClientStatus: "running" }))).toBe(false);
    expect(own.allocWakes(WHERE, KEY, alloc({ ClientStatus: "complete" }))).toBe(false);
    expect(own.end(WHERE, 40)).toEqual({ key: KEY, ended: true });
    own.begin(WHERE);
    expect(own.allocWakes(WHERE, KEY, alloc({ ClientStatus: "failed" }))).toBe(false);
    expect(own.end(WHERE, 50)).toEqual({ key: KEY, ended: true });

    own.begin(WHERE);
    expect(own.jobWakes(WHERE, KEY, "JobRegistered", job())).toBe(false);
    expect(own.end(WHERE, undefined)).toEqual({ key: KEY, ended: false }); // the register failed: news
  });

  it("a quiet new allocation: pending, desired to run, no task started, restarted or failed", () => {
    expect(isQuietNewAlloc(alloc())).toBe(true);
    expect(
      isQuietNewAlloc(alloc({ TaskStates: { main: task({ StartedAt: "2026-01-01T00:00:00Z" }) } as never })),
    ).toBe(false);
  });
});

describe("NomadScheduler.changes(): a new job wakes its resource once, for what is news", () => {
  let nomad: NomadDouble;
  let client: NomadClient;
  let scheduler: NomadScheduler;
  let subscription: Subscription | undefined;
  const keys: ResourceKey[] = [];
  afterEach(async () => {
    subscription?.unsubscribe();
    await scheduler.close();
    await client.close();
    await nomad.close();
  });
  const run = (name: string): RunRequest =>
    runRequest({}, { key: { kind: "TrainingJob", namespace: "team-a", name } });

  async function until(check: () => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error("condition not met in time");
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** A Nomad double and a scheduler on it (owner-1), its event stream retried quickly. */
  async function start(): Promise<void> {
    nomad = await new NomadDouble({ namespaces: ["team-a"], heartbeatMs: 1_000 }).start();
    client = new NomadClient({ address: nomad.address }, {});
    scheduler = new NomadScheduler({
      client,
      ownerId: "owner-1",
      events: { backoffBaseMs: 20, backoffMaxMs: 200 },
    });
  }

  /** Every event published so far has reached the feed: a purge of a marker job comes after them. */
  let markers = 0;
  async function drained(): Promise<void> {
    const name = `marker-${++markers}`;
    await scheduler.submit(run(name));
    nomad.state.deregister("team-a", name, true);
    await until(() => keys.includes(`TrainingJob/team-a/${name}` as ResourceKey));
  }

  it("its own register and the allocation it placed wake nothing; running, a driver failure and a stop by someone else each wake it", async () => {
    await start();
    subscription = scheduler.changes().subscribe((k) => keys.push(k));
    await until(() => nomad.openStreams === 1);

    await scheduler.submit(run("a"));
    const [placed] = nomad.allocations("team-a", "a");
    expect(placed?.ClientStatus).toBe("pending");
    await drained();
    expect(keys.filter((k) => k === KEY)).toEqual([]);

    nomad.lifecycle.running(placed?.ID ?? "");
    await drained();
    expect(keys.filter((k) => k === KEY).length).toBeGreaterThan(0);

    keys.length = 0;
    nomad.lifecycle.driverFailure(placed?.ID ?? "", "Failed to pull `trainer:1`: manifest unknown");
    await drained();
    expect(keys).toContain(KEY);

    keys.length = 0;
    nomad.state.deregister("team-a", "a", false); // stopped by someone else
    await drained();
    expect(keys).toContain(KEY);
  });

  it("endings() reports the keys whose allocation ended (complete, failed, lost), not those that run", async () => {
    await start();
    const ended: ResourceKey[] = [];
    const runs = () => ended.filter((k) => !k.includes("/marker-")); // drained()'s markers end too
    subscription = scheduler.changes().subscribe((k) => keys.push(k));
    subscription.add(scheduler.endings().subscribe((k) => ended.push(k)));
    await until(() => nomad.openStreams === 1);
    const allocOf = async (name: string) => {
      await scheduler.submit(run(name));
      return nomad.allocations("team-a", name)[0]?.ID ?? "";
    };
    const [done, failed, lost, running] = [
      await allocOf("done"),
      await allocOf("failed"),
      await allocOf("lost"),
      await allocOf("running"),
    ];
    for (const id of [done, failed, lost, running]) nomad.lifecycle.running(id);
    await drained();
    expect(runs()).toEqual([]);

    nomad.lifecycle.exit(done, { exitCode: 0 });
    nomad.lifecycle.exit(failed, { exitCode: 3, exhaust: true });
    nomad.lifecycle.lost(lost);
    await drained();
    const name = (k: ResourceKey) => k.slice("TrainingJob/team-a/".length);
    expect([...new Set(runs())].map(name).sort()).toEqual(["done", "failed", "lost"]);
    for (const k of runs()) expect(keys).toContain(k); // on changes() too
  });
});

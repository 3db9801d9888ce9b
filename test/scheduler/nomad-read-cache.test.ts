// The Nomad scheduler's read cache (src/scheduler/nomad/cache.ts): its rules as a table over the pure
// cache, and observe against the Nomad double with the change feed running: a new job costs its
// register alone, an owned job followed by the stream is observed with no request, another owner's
// id is never taken for absent, and a stream gap sends observe back to the server.
import type { Subscription } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { interner } from "../../src/api/intern.ts";
import { NomadClient } from "../../src/clients/nomad/index.ts";
import type {
  NomadAllocation,
  NomadEvent,
  NomadJob,
  NomadJobListStub,
} from "../../src/clients/nomad/types.ts";
import { NomadReadCache } from "../../src/scheduler/nomad/cache.ts";
import { compact as cacheCompact, compactJob } from "../../src/scheduler/nomad/compact.ts";
import { NomadScheduler } from "../../src/scheduler/nomad/index.ts";
import { listAllocations } from "../../src/scheduler/nomad/listing.ts";
import { formatJobVersion, specHashConstraint, specHashOf } from "../../src/scheduler/nomad/meta.ts";
import { replicaOf } from "../../src/scheduler/nomad/observe.ts";
import { isQuietNewAlloc } from "../../src/scheduler/nomad/own-writes.ts";
import { debugPrints } from "../api/v8-debug.ts";
import { nomadJob, runRequest } from "../doubles/nomad/fixtures.ts";
import { type ExitOptions, type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";

const W = "team-a/resnet";
const job = (over: Partial<NomadJob> = {}): NomadJob =>
  ({
    ID: "resnet",
    Namespace: "team-a",
    TaskGroups: [],
    Version: 0,
    CreateIndex: 20,
    ModifyIndex: 20,
    JobModifyIndex: 20,
    ...over,
  }) as NomadJob;
const alloc = (over: Partial<NomadAllocation> = {}): NomadAllocation =>
  ({
    ID: "a1",
    JobID: "resnet",
    Namespace: "team-a",
    Name: "resnet.train[0]",
    CreateIndex: 21,
    ModifyIndex: 21,
    ClientStatus: "pending",
    ...over,
  }) as NomadAllocation;
const jobEvent = (j: NomadJob, type = "JobRegistered"): NomadEvent => ({
  Topic: "Job",
  Type: type,
  Key: j.ID,
  Namespace: j.Namespace,
  Index: j.ModifyIndex ?? 0,
  Payload: { Job: j },
});
/** As the stream carries an allocation: no JobVersion (nomad/state/events.go strips the job). */
const allocEvent = (a: NomadAllocation): NomadEvent => {
  const { JobVersion: _v, ...rest } = a;
  return {
    Topic: "Allocation",
    Type: "AllocationUpdated",
    Key: a.ID,
    Namespace: a.Namespace,
    Index: a.ModifyIndex,
    Payload: { Allocation: rest },
  };
};
const owns = () => true;

describe("NomadReadCache rules", () => {
  const cases: { name: string; run: (c: NomadReadCache) => void; owned: boolean; want: string }[] = [
    { name: "before a list: unknown", run: () => {}, owned: false, want: "unknown" },
    {
      name: "after a list, an id no one holds: absent",
      run: (c) => c.listed(10),
      owned: false,
      want: "absent",
    },
    {
      name: "another owner's id from the list: never absent",
      run: (c) => {
        c.setOthers([W]);
        c.listed(10);
      },
      owned: false,
      want: "unknown",
    },
    {
      name: "another owner's job seen in an event: never absent",
      run: (c) => {
        c.listed(10);
        c.apply(
          [jobEvent(job())],
          () => false,
          () => false,
        );
      },
      owned: false,
      want: "unknown",
    },
    {
      name: "owned by the feed (registered here) but no event yet: unknown",
      run: (c) => c.listed(10),
      owned: true,
      want: "unknown",
    },
    {
      name: "a job created after the list, with its allocation events: known",
      run: (c) => {
        c.listed(10);
        c.apply([jobEvent(job()), allocEvent(alloc())], owns, owns);
      },
      owned: true,
      want: "known",
    },
    {
      name: "a job older than the list, seen in an event only: unknown (its allocations may be missing)",
      run: (c) => {
        c.listed(30);
        c.apply([jobEvent(job({ ModifyIndex: 40 }))], owns, owns);
      },
      owned: true,
      want: "unknown",
    },
    {
      name: "seeded by a read: known",
      run: (c) => {
        c.listed(30);
        c.seed(W, job(), [alloc({ JobVersion: 0 })]);
      },
      owned: true,
      want: "known",
    },
    {
      name: "a read while not synced is not kept",
      run: (c) => c.seed(W, job(), []),
      owned: true,
      want: "unknown",
    },
    {
      name: "a gap drops everything",
      run: (c) => {
        c.listed(10);
        c.apply([jobEvent(job())], owns, owns);
        c.reset();
      },
      owned: true,
      want: "unknown",
    },
    {
      name: "purged: absent, and an older read does not revive it",
      run: (c) => {
        c.listed(10);
        c.apply([jobEvent(job()), jobEvent(job({ ModifyIndex: 25 }), "JobDeregistered")], owns, owns);
        c.seed(W, job({ ModifyIndex: 22 }), []);
      },
      owned: false,
      want: "absent",
    },
  ];
  it.each(cases)("$name", ({ run, owned, want }) => {
    const cache = new NomadReadCache();
    run(cache);
    expect(cache.get(W, owned).state).toBe(want);
  });

  it("an allocation from an event takes the version current at its creation; copies merge by ModifyIndex", () => {
    const cache = new NomadReadCache();
    cache.listed(10);
    cache.apply([jobEvent(job())], owns, owns);
    cache.apply([jobEvent(job({ Version: 1, ModifyIndex: 30, JobModifyIndex: 30 }))], owns, owns);
    cache.apply(
      [allocEvent(alloc()), allocEvent(alloc({ ID: "a2", CreateIndex: 31, ModifyIndex: 31 }))],
      owns,
      owns,
    );
    const running = allocEvent(alloc({ ModifyIndex: 35, ClientStatus: "running" }));
    Object.assign(running.Payload.Allocation as object, { AllocatedResources: { Shared: {} }, Metrics: {} });
    cache.apply([running], owns, owns);
    cache.apply([allocEvent(alloc({ ModifyIndex: 33, ClientStatus: "pending" }))], owns, owns); // older copy
    const got = cache.get(W, true);
    expect(got.state).toBe("known");
    if (got.state !== "known") return;
    expect(got.job.Version).toBe(1);
    expect(got.allocations[0]).not.toHaveProperty("AllocatedResources"); // stub fields only
    expect(got.allocations[0]).not.toHaveProperty("Metrics");
    expect(got.allocations.map((a) => [a.ID, a.JobVersion, a.ClientStatus])).toEqual([
      ["a1", 0, "running"],
      ["a2", 1, "pending"],
    ]);
  });
});

describe("NomadReadCache listed jobs (a restart)", () => {
  const stub = (over: Partial<NomadJobListStub> = {}): NomadJobListStub => ({
    ID: "resnet",
    Name: "resnet",
    Namespace: "team-a",
    Type: "batch",
    Priority: 50,
    Status: "running",
    Stop: false,
    Meta: { mlops_run_id: "run-1" },
    CreateIndex: 20,
    ModifyIndex: 24,
    JobModifyIndex: 22,
    SubmitTime: 0,
    ...over,
  });
  const recorded = formatJobVersion({ createIndex: 20, jobModifyIndex: 22, count: 2, specHash: "abc123" });
  const listedCache = (stubs = [stub()], allocs = [alloc({ JobVersion: 1 })]) => {
    const cache = new NomadReadCache();
    cache.listed(30);
    cache.seedListed(new Map(stubs.map((s) => [`${s.Namespace}/${s.ID}`, s])), allocs);
    return cache;
  };

  it("serves a listed job to the version recorded at its indexes, with the recorded count and spec hash", () => {
    const got = listedCache().get(W, true, recorded);
    expect(got).toMatchObject({ state: "known", listed: true });
    if (got.state !== "known") return;
    expect(specHashOf(got.job)).toBe("abc123");
    expect(got.job.TaskGroups.map((g) => g.Count)).toEqual([2]);
    expect(got.job.Meta).toEqual({ mlops_run_id: "run-1" });
    expect(got.allocations.map((a) => [a.ID, a.JobVersion])).toEqual([["a1", 1]]);
  });

  it.each([
    ["no recorded version", undefined],
    ["another JobModifyIndex (changed since)", recorded.replace(":22:", ":23:")],
    ["another CreateIndex (purged and made again)", recorded.replace("20:", "21:")],
    ["not a version", "garbage"],
  ])("%s: unknown (the job is read)", (_name, version) => {
    expect(listedCache().get(W, true, version).state).toBe("unknown");
  });

  it("a Job event replaces the stub with the whole job; an allocation event with no version known makes it unknown", () => {
    const cache = listedCache();
    const whole = job({ CreateIndex: 20, ModifyIndex: 25, JobModifyIndex: 22, Version: 1, Constraints: [] });
    cache.apply([jobEvent(whole)], owns, owns);
    const got = cache.get(W, true); // whole: served with no recorded version
    expect(got).toMatchObject({ state: "known" });
    expect(got).not.toHaveProperty("listed");
    const other = listedCache();
    other.apply([allocEvent(alloc({ ID: "a2", CreateIndex: 31, ModifyIndex: 31 }))], owns, owns);
    expect(other.get(W, true, recorded).state).toBe("unknown"); // a2's JobVersion cannot be known
    // A listed allocation's update keeps the version it was listed with.
    const updated = listedCache();
    updated.apply([allocEvent(alloc({ ModifyIndex: 32, ClientStatus: "running" }))], owns, owns);
    const seen = updated.get(W, true, recorded);
    expect(seen.state === "known" && seen.allocations.map((a) => [a.JobVersion, a.ClientStatus])).toEqual([
      [1, "running"],
    ]);
  });

  it("a job purged after the list is not seeded; a stub no longer listed is dropped at the next list", () => {
    const cache = new NomadReadCache();
    cache.listed(30);
    cache.apply([jobEvent(job({ ModifyIndex: 26 }), "JobDeregistered")], owns, owns);
    cache.seedListed(new Map([[W, stub()]]), [alloc({ JobVersion: 1 })]);
    expect(cache.get(W, false, recorded).state).toBe("absent");
    const relisted = listedCache();
    relisted.seedListed(new Map(), []);
    expect(relisted.get(W, true, recorded).state).toBe("unknown");
    expect(relisted.size).toBe(0);
  });

  it("a later list's newer stub replaces the one kept; a whole job is kept over any stub", () => {
    const cache = listedCache();
    const newer = stub({ ModifyIndex: 40, JobModifyIndex: 39 });
    cache.seedListed(new Map([[W, newer]]), [alloc({ JobVersion: 1 })]);
    const moved = formatJobVersion({ createIndex: 20, jobModifyIndex: 39, count: 1, specHash: "def" });
    expect(cache.get(W, true, recorded).state).toBe("unknown");
    expect(cache.get(W, true, moved)).toMatchObject({ state: "known", listed: true });
    const whole = listedCache();
    whole.apply([jobEvent(job({ CreateIndex: 20, ModifyIndex: 30, JobModifyIndex: 22 }))], owns, owns);
    whole.seedListed(new Map([[W, newer]]), [alloc({ JobVersion: 1 })]);
    expect(whole.get(W, true)).toMatchObject({ state: "known" });
    expect(whole.get(W, true)).not.toHaveProperty("listed");
  });

  it("nothing is seeded before the stream is followed (not synced)", () => {
    const cache = new NomadReadCache();
    cache.seedListed(new Map([[W, stub()]]), []);
    expect(cache.get(W, true, recorded).state).toBe("unknown");
  });
});

describe("NomadReadCache job events of one version", () => {
  it("a status change (same JobModifyIndex and Version) updates Status and ModifyIndex; a new version is taken whole", () => {
    const cache = new NomadReadCache();
    cache.listed(10);
    const group = {
      Name: "train",
      Count: 1,
      Tasks: [{ Name: "t", Driver: "docker", Config: { image: "x" }, Resources: { CPU: 100, MemoryMB: 64 } }],
    } as NomadJob["TaskGroups"][number];
    cache.apply([jobEvent(job({ Status: "pending", Priority: 50, TaskGroups: [group] }))], owns, owns);
    const first = cache.get(W, true);
    // An allocation's update makes Nomad write the job's status: same spec, a later ModifyIndex.
    cache.apply(
      [
        jobEvent(
          job({ Status: "running", Priority: 50, ModifyIndex: 25, TaskGroups: [group] }),
          "AllocationUpdated",
        ),
      ],
      owns,
      owns,
    );
    const running = cache.get(W, true);
    expect(first.state === "known" && running.state === "known").toBe(true);
    if (first.state !== "known" || running.state !== "known") return;
    expect(running.job).toMatchObject({
      Status: "running",
      ModifyIndex: 25,
      JobModifyIndex: 20,
      Priority: 50,
    });
    expect(running.job.TaskGroups).toBe(first.job.TaskGroups); // kept, not built again
    expect(first.job.Status).toBe("pending"); // a new object: what a reader holds does not change
    // An older copy changes nothing; a new version of the spec is taken whole.
    cache.apply([jobEvent(job({ Status: "pending", ModifyIndex: 22 }), "AllocationUpdated")], owns, owns);
    expect((cache.get(W, true) as { job: NomadJob }).job.Status).toBe("running");
    cache.apply(
      [jobEvent(job({ Status: "pending", Priority: 70, Version: 1, ModifyIndex: 30, JobModifyIndex: 30 }))],
      owns,
      owns,
    );
    expect((cache.get(W, true) as { job: NomadJob }).job).toMatchObject({
      Priority: 70,
      Version: 1,
      TaskGroups: [],
    });
  });
});

describe("NomadReadCache interning", () => {
  it("jobs of one shape share one frozen copy of their task groups from the second on; the jobs given stay their own", () => {
    const cache = new NomadReadCache();
    cache.listed(10);
    const groups = (memoryMB: number) =>
      [
        {
          Name: "train",
          Count: 2,
          Tasks: [
            {
              Name: "main",
              Driver: "docker",
              Config: { image: "x" },
              Resources: { CPU: 100, MemoryMB: memoryMB },
            },
          ],
        },
      ] as NomadJob["TaskGroups"];
    const given = [
      job({ ID: "a", TaskGroups: groups(64) }),
      job({ ID: "b", TaskGroups: groups(64) }),
      job({ ID: "c", TaskGroups: groups(64) }),
      job({ ID: "d", TaskGroups: groups(128) }),
    ];
    cache.apply(
      given.map((j) => jobEvent(j)),
      owns,
      owns,
    );
    const kept = ["a", "b", "c", "d"].map((id) => {
      const got = cache.get(`team-a/${id}`, true);
      if (got.state !== "known") throw new Error(`team-a/${id} is ${got.state}`);
      return got.job.TaskGroups;
    });
    // The first job of a shape keeps its own (a shape seen once is not kept), the next ones share.
    expect(kept[2]).toBe(kept[1]);
    expect(kept[3]).not.toBe(kept[1]);
    expect(kept[1]?.[0]).toMatchObject({
      Name: "train",
      Count: 2,
      Tasks: [{ Name: "main", Resources: { MemoryMB: 64 } }],
    });
    expect(kept[0]?.[0]?.Tasks[0]?.Config).toEqual({}); // the task configuration is not kept
    expect(kept[1]?.[0]?.Tasks[0]?.Config).toEqual({});
    expect(Object.isFrozen(kept[1]?.[0]?.Tasks[0]?.Resources)).toBe(true);
    for (const j of given) expect(Object.isFrozen(j.TaskGroups[0]?.Tasks[0]?.Resources)).toBe(false);
  });

  it("shares an allocation's recurring strings and leaves its ids out of the string table", () => {
    const cache = new NomadReadCache();
    cache.listed(10);
    cache.apply([jobEvent(job())], owns, owns);
    const before = interner.size;
    const events = Array.from({ length: 200 }, (_, i) =>
      allocEvent(
        alloc({
          ID: `alloc-${i}-${"x".repeat(8)}`,
          EvalID: `eval-${i}`,
          Name: `resnet.train[${i}]`,
          FollowupEvalID: `follow-${i}`,
          NodeName: ["node", "1"].join("-"), // a new string each time, as JSON.parse makes them
          CreateIndex: 21 + i,
          ModifyIndex: 21 + i,
        }),
      ),
    );
    cache.apply(events, owns, owns);
    // 200 allocations with four unique ids each: at most a handful of new entries (their shared values).
    expect(interner.size - before).toBeLessThan(10);
    const got = cache.get(W, true);
    if (got.state !== "known") throw new Error(`want known, got ${got.state}`);
    expect(got.allocations).toHaveLength(200);
    expect(got.allocations[199]?.ID).toBe(`alloc-199-${"x".repeat(8)}`);
    expect(got.allocations[0]?.NodeName).toBe("node-1");
  });
});

describe("NomadReadCache allocation versions", () => {
  it("an allocation seen in an event takes the version of the job current at its creation", () => {
    const cache = new NomadReadCache();
    cache.listed(10);
    // One version known: its allocations take it.
    cache.apply([jobEvent(job({ Version: 3, JobModifyIndex: 20, ModifyIndex: 20 }))], owns, owns);
    cache.apply([allocEvent(alloc({ ID: "a1", CreateIndex: 21, ModifyIndex: 21 }))], owns, owns);
    let got = cache.get(W, true);
    if (got.state !== "known") throw new Error(`want known, got ${got.state}`);
    expect(got.allocations.map((a) => [a.ID, a.JobVersion])).toEqual([["a1", 3]]);
    // A second version: an allocation created before it keeps the first, one after takes the second.
    cache.apply([jobEvent(job({ Version: 4, JobModifyIndex: 30, ModifyIndex: 30 }))], owns, owns);
    cache.apply(
      [
        allocEvent(alloc({ ID: "a2", CreateIndex: 25, ModifyIndex: 31 })),
        allocEvent(alloc({ ID: "a3", CreateIndex: 32, ModifyIndex: 32 })),
      ],
      owns,
      owns,
    );
    got = cache.get(W, true);
    if (got.state !== "known") throw new Error(`want known, got ${got.state}`);
    expect(got.allocations.map((a) => [a.ID, a.JobVersion])).toEqual([
      ["a1", 3],
      ["a2", 3],
      ["a3", 4],
    ]);
  });

  it("an allocation older than every version known has none: the job is read instead", () => {
    const cache = new NomadReadCache();
    cache.listed(10);
    cache.apply([jobEvent(job({ Version: 1, JobModifyIndex: 40, ModifyIndex: 40 }))], owns, owns);
    cache.apply([allocEvent(alloc({ ID: "old", CreateIndex: 35, ModifyIndex: 41 }))], owns, owns);
    expect(cache.get(W, true).state).toBe("unknown");
  });
});

describe("NomadReadCache per-job strings", () => {
  it("keeps a job's id and name out of the string table, and its allocations hold the job's id string", () => {
    const cache = new NomadReadCache();
    cache.listed(10);
    const before = interner.size;
    const ids = Array.from({ length: 300 }, (_, i) => ["job", String(i)].join("-"));
    const events = ids.flatMap((id, i) => [
      // Name equal to the id but its own string, as JSON.parse makes them.
      jobEvent(job({ ID: id, Name: ["job", String(i)].join("-"), CreateIndex: 20 + i, ModifyIndex: 20 + i })),
      allocEvent(
        alloc({
          ID: `a-${i}`,
          JobID: ["job", String(i)].join("-"),
          CreateIndex: 400 + i,
          ModifyIndex: 400 + i,
        }),
      ),
    ]);
    cache.apply(events, owns, owns);
    // 300 jobs, each id seen three times (id, name, an allocation's job id): none kept in the table.
    expect(interner.size - before).toBeLessThan(10);
    const script = `
      const cache = new NomadReadCache();
      cache.listed(10);
      const id = ["job", "7"].join("-");
      cache.apply([
        { Topic: "Job", Type: "JobRegistered", Index: 20, Payload: { Job: { ID: id, Name: ["job", "7"].join("-"), Namespace: "a", TaskGroups: [], Version: 0, CreateIndex: 20, ModifyIndex: 20, JobModifyIndex: 20 } } },
        { Topic: "Allocation", Type: "AllocationUpdated", Index: 21, Payload: { Allocation: { ID: "a1", Name: "x", JobID: ["job", "7"].join("-"), Namespace: "a", CreateIndex: 21, ModifyIndex: 21 } } },
      ], () => true, () => true);
      const got = cache.get("a/job-7", true);
      %DebugPrint(got.job.ID);
      %DebugPrint(got.job.Name);
      %DebugPrint(got.allocations[0].JobID);`;
    const out = debugPrints({ "../../src/scheduler/nomad/cache.ts": "NomadReadCache" }, script);
    const addresses = [...out.matchAll(/^DebugPrint: (0x[0-9a-f]+)/gm)].map((m) => m[1]);
    expect(addresses).toHaveLength(3);
    expect(new Set(addresses).size).toBe(1);
  });
});

describe("NomadReadCache task states", () => {
  // V8's own view: a member added after the literal goes to a property array of its own.
  it("a task event with a display message keeps its members in the object itself", () => {
    const script = `
      const event = { Type: "Started", Time: 1.7e18, Message: "", DisplayMessage: "Task started by client" };
      const kept = compact({ ID: "a1", Name: "resnet.train[0]", TaskStates: { main: { State: "running", Events: [event] } } });
      %DebugPrint(kept.TaskStates.main.Events[0]);`;
    const out = debugPrints({ "../../src/scheduler/nomad/compact.ts": "compact" }, script);
    expect(out).toMatch(/#DisplayMessage: .* location: in-object/);
    expect(out).not.toMatch(/PropertyArray\[[1-9]/);
  });

  it("keeps a job's spec-hash constraint as its value alone, and the job's other constraints as they were", () => {
    const hashOnly = compactJob(job({ Constraints: [specHashConstraint("0123456789abcdef")] }));
    expect(hashOnly.Constraints).toBeNull();
    expect(specHashOf(hashOnly)).toBe("0123456789abcdef");
    const user = { LTarget: "attr.unique.hostname", RTarget: "gpu-1", Operand: "=" };
    const both = compactJob(job({ Constraints: [user, specHashConstraint("fedcba9876543210")] }));
    expect(both.Constraints).toEqual([user]);
    expect(specHashOf(both)).toBe("fedcba9876543210");
    // Another owner's job (no spec-hash constraint): its constraints kept, no hash.
    const other = compactJob(job({ Constraints: [user] }));
    expect(other.Constraints).toEqual([user]);
    expect(specHashOf(other)).toBeUndefined();
  });

  it("keeps only the events that decide something; task states with nothing of their own are one shared tree", () => {
    const taskStates = (time: number, state = "pending", started: string | null = null) => ({
      main: {
        State: state,
        Failed: false,
        Restarts: 0,
        StartedAt: started,
        FinishedAt: null,
        Events: [
          { Type: "Received", Time: time, DisplayMessage: "Task received by client" },
          { Type: "Task Setup", Time: time + 1, DisplayMessage: "Building Task Directory" },
          ...(state === "running"
            ? [{ Type: "Started", Time: time + 2, DisplayMessage: "Task started by client" }]
            : []),
        ],
      },
    });
    const pending = [1, 2, 3].map((t) =>
      cacheCompact(alloc({ ID: `p${t}`, TaskStates: taskStates(t) as never })),
    );
    expect(pending.map((a) => a.TaskStates?.main?.Events)).toEqual([[], [], []]);
    // Seen twice, the shape is kept: later allocations of it hold the one frozen tree.
    expect(pending[2]?.TaskStates).toBe(pending[1]?.TaskStates);
    expect(Object.isFrozen(pending[2]?.TaskStates?.main)).toBe(true);
    const running = cacheCompact(
      alloc({
        ID: "r1",
        ClientStatus: "running",
        TaskStates: taskStates(10, "running", "2026-12-07T12:00:00Z") as never,
      }),
    );
    expect(running.TaskStates?.main?.Events?.map((e) => e.Type)).toEqual(["Started"]);
    // A text that tells of max_run_duration is kept whatever its type (replicaOf looks for it).
    const killed = cacheCompact(
      alloc({
        ID: "k1",
        ClientStatus: "complete",
        TaskStates: {
          main: {
            State: "dead",
            Failed: false,
            Restarts: 0,
            Events: [
              { Type: "Killing", Time: 5, DisplayMessage: "Sent interrupt: max_run_duration exceeded" },
            ],
          },
        } as never,
      }),
    );
    expect(killed.TaskStates?.main?.Events?.map((e) => e.Type)).toEqual(["Killing"]);
  });

  it("keeps of Nomad's task events what observe reads: the same replica, a fraction of the bytes", async () => {
    const nomad = await startNomadDouble({ namespaces: ["team-a"] });
    const client = new NomadClient({ address: nomad.address }, {});
    try {
      // Allocations as Nomad writes them, through the double's task runner: every event field.
      const exits = (exit: ExitOptions) => (id: string) => {
        nomad.lifecycle.running(id);
        nomad.lifecycle.exit(id, exit);
      };
      const scenarios: [string, (id: string) => void][] = [
        ["pending", () => {}],
        ["running", (id) => nomad.lifecycle.running(id)],
        ["complete", exits({ exitCode: 0 })],
        ["oom", exits({ exitCode: 137, oom: true, exhaust: true })],
        ["restarted", exits({ exitCode: 3 })],
        ["failed", exits({ exitCode: 3, exhaust: true })],
        [
          "pull",
          (id) => nomad.lifecycle.driverFailure(id, "Failed to pull `registry.local/x:1`: manifest unknown"),
        ],
      ];
      const cache = new NomadReadCache();
      cache.listed(0);
      const sizes = { kept: 0, sent: 0 }; // the task states' JSON
      for (const [name, drive] of scenarios) {
        await client.register(nomadJob(name, "team-a"));
        const [stub] = nomad.allocations("team-a", name);
        if (!stub) throw new Error(`no allocation for ${name}`);
        drive(stub.ID);
        const full = (await (
          await fetch(`${nomad.address}/v1/allocation/${stub.ID}`)
        ).json()) as NomadAllocation;
        const sent = await client.readJob(name, "team-a");
        if (!sent) throw new Error(`no job ${name}`);
        cache.seed(`team-a/${name}`, sent, [full]);
        const got = cache.get(`team-a/${name}`, true);
        if (got.state !== "known") throw new Error(`want known, got ${got.state}`);
        const [kept] = got.allocations;
        if (!kept) throw new Error("no allocation kept");
        expect(replicaOf(kept, 0, 0), name).toEqual(replicaOf(full, 0, 0));
        expect(isQuietNewAlloc(kept), name).toBe(isQuietNewAlloc(full));
        // Nor the ids of its evaluations and its times, which observe never reads.
        for (const field of ["EvalID", "FollowupEvalID", "CreateTime", "ModifyTime"])
          expect(Object.keys(kept), name).not.toContain(field);
        sizes.kept += JSON.stringify(kept.TaskStates).length;
        sizes.sent += JSON.stringify(full.TaskStates).length;
      }
      expect(sizes.kept).toBeLessThan(sizes.sent / 3);
      // The scenarios reach the failures observe tells apart.
      const reasons = scenarios.map(([name]) => {
        const got = cache.get(`team-a/${name}`, true);
        return got.state === "known" && got.allocations[0]
          ? replicaOf(got.allocations[0], 0, 0).reason
          : undefined;
      });
      expect(reasons).toEqual(expect.arrayContaining(["OOMKilled", "Error", "ImageNotFound"]));
    } finally {
      await client.close();
      await nomad.close();
    }
  });
});

describe("NomadScheduler observe with the change feed running", () => {
  let nomad: NomadDouble;
  let client: NomadClient;
  let scheduler: NomadScheduler;
  let subscription: Subscription | undefined;
  const key = runRequest().key;
  const reads = () =>
    nomad.requests.filter((r) => r.method === "GET" && r.route.startsWith("/v1/job/")).length;
  const until = async (check: () => boolean) => {
    const deadline = Date.now() + 10_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error("condition not met in time");
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  beforeEach(async () => {
    nomad = await startNomadDouble({ namespaces: ["team-a", "team-b"], heartbeatMs: 50 });
    client = new NomadClient({ address: nomad.address }, {});
    scheduler = new NomadScheduler({ client, ownerId: "owner-1", events: { backoffBaseMs: 20 } });
  });
  afterEach(async () => {
    subscription?.unsubscribe();
    await scheduler.close();
    await client.close();
    await nomad.close();
  });

  async function follow(): Promise<string[]> {
    const keys: string[] = [];
    subscription = scheduler.changes().subscribe((k) => keys.push(k));
    await until(() => nomad.openStreams === 1);
    await new Promise((r) => setTimeout(r, 50)); // the first list has answered
    return keys;
  }

  it("a new job costs its register alone; then it is observed from the stream, with no request", async () => {
    const keys = await follow();
    const before = nomad.requests.length;
    expect(await scheduler.observe(key)).toBeUndefined();
    await scheduler.submit(runRequest());
    const sent = nomad.requests.slice(before).filter((r) => r.route !== "/v1/agent/self"); // once per client
    expect(sent.map((r) => `${r.method} ${r.route}`)).toEqual(["POST /v1/jobs"]);
    await until(() => nomad.allocations("team-a", "resnet").length === 1);
    // Its own register's events wake nothing; a job purged after them says they have arrived.
    nomad.state.register(scheduler.render(runRequest({}, { key: { ...key, name: "marker" } })));
    nomad.state.deregister("team-a", "marker", true);
    await until(() => keys.includes("TrainingJob/team-a/marker"));
    const observed = await scheduler.observe(key);
    expect(observed).toMatchObject({ runId: "run-1", ownerId: "owner-1" });
    expect(observed?.replicas.map((r) => r.state)).toEqual(["pending"]);
    nomad.lifecycle.running(nomad.allocations("team-a", "resnet")[0]?.ID ?? "");
    await until(() => keys.includes("TrainingJob/team-a/resnet"));
    expect((await scheduler.observe(key))?.replicas.map((r) => r.state)).toEqual(["running"]);
    expect(reads()).toBe(0);
    expect(nomad.requests.slice(before).filter((r) => r.method !== "GET").length).toBe(1);
  });

  it("another owner's job under the same id is read, never taken for absent (no write)", async () => {
    const other = new NomadScheduler({ client, ownerId: "owner-2" });
    await other.submit(runRequest({}, { ownerId: "owner-2" }));
    await follow();
    const writes = nomad.writes;
    expect(await scheduler.observe(key)).toMatchObject({ ownerId: "owner-2" });
    await expect(scheduler.submit(runRequest())).rejects.toMatchObject({ reason: "NotOwned" });
    expect(nomad.writes).toBe(writes);
  });

  it("a restart: a job older than the list is observed with no request at the version its status recorded", async () => {
    const earlier = new NomadScheduler({ client, ownerId: "owner-1" });
    const version = await earlier.submit(runRequest({ replicas: 2 }));
    expect(version).toMatch(/^\d+:\d+:2:spec-1$/);
    // The version a read of the whole job gives is the one the register answered.
    expect((await earlier.observe(key))?.version).toBe(version);
    for (const a of nomad.allocations("team-a", "resnet")) nomad.lifecycle.running(a.ID);
    await follow();
    const start = nomad.requests.length;
    const observed = await scheduler.observe(key, version);
    expect(observed).toMatchObject({
      runId: "run-1",
      specHash: "spec-1",
      generation: 3,
      stopped: false,
      version,
    });
    expect(observed?.replicas.map((r) => r.state)).toEqual(["running", "running"]);
    expect(nomad.requests.slice(start)).toEqual([]);
    // Without the version (a status written before it was kept) the job is read, as before.
    await scheduler.observe(key);
    expect(nomad.requests.slice(start).map((r) => r.route)).toEqual([
      "/v1/job/:id",
      "/v1/job/:id/allocations",
    ]);
  });

  it("a restart: a job changed outside since its version was recorded is read, and its new version reported", async () => {
    const earlier = new NomadScheduler({ client, ownerId: "owner-1" });
    const version = await earlier.submit(runRequest());
    // Someone edits the job in Nomad (its priority): a new JobModifyIndex.
    const edited = earlier.render(runRequest({ priority: 70 }, { specHash: "spec-2" }));
    nomad.state.register(edited);
    await follow();
    const start = reads();
    const observed = await scheduler.observe(key, version);
    expect(reads() - start).toBe(2);
    expect(observed?.specHash).toBe("spec-2");
    expect(observed?.version).not.toBe(version);
    expect(observed?.version).toMatch(/:spec-2$/);
  });

  it("a restart: a stopped job is served at the version its stop answered", async () => {
    const earlier = new NomadScheduler({ client, ownerId: "owner-1" });
    const submitted = await earlier.submit(runRequest());
    const stopped = await earlier.stop(key, "suspend");
    expect(stopped).not.toBe(submitted);
    expect((await earlier.observe(key))?.version).toBe(stopped);
    await follow();
    const start = reads();
    expect(await scheduler.observe(key, stopped ?? "")).toMatchObject({ stopped: true, version: stopped });
    expect(reads() - start).toBe(0);
  });

  it("observes that come while the first lists are under way wait for them instead of reading", async () => {
    const earlier = new NomadScheduler({ client, ownerId: "owner-1" });
    const versions = await Promise.all(
      ["a", "b", "c"].map((name) => earlier.submit(runRequest({}, { key: { ...key, name } }))),
    );
    const start = reads(); // the submits' own reads
    subscription = scheduler.changes().subscribe(() => {});
    const observed = await Promise.all(
      ["a", "b", "c"].map((name, i) => scheduler.observe({ ...key, name }, versions[i] ?? "")),
    );
    expect(observed.map((o) => o?.runId)).toEqual(["run-1", "run-1", "run-1"]);
    expect(reads() - start).toBe(0);
    expect(nomad.requests.filter((r) => r.route === "/v1/allocations")).toHaveLength(16); // one per ID prefix
  });

  it.each(["1.9.6", "2.0.3"])(
    "Nomad %s: the allocations are listed by ID prefix, in pages whose tokens every version orders right (nomad#25435)",
    async (version) => {
      await scheduler.close();
      await client.close();
      await nomad.close();
      nomad = await startNomadDouble({ namespaces: ["team-a", "team-b"], heartbeatMs: 50, version });
      client = new NomadClient({ address: nomad.address }, {});
      scheduler = new NomadScheduler({ client, ownerId: "owner-1", events: { backoffBaseMs: 20 } });
      const earlier = new NomadScheduler({ client, ownerId: "owner-1" });
      // Enough allocations that a page of the create-index order would cross 9 → 10 and 99 → 100.
      const names = Array.from({ length: 40 }, (_, i) => `j${i}`);
      const recorded = new Map<string, string | undefined>();
      for (const [i, name] of names.entries()) {
        const namespace = i % 2 === 0 ? "team-a" : "team-b";
        const run = runRequest({}, { key: { kind: "TrainingJob", namespace, name } });
        recorded.set(name, await earlier.submit(run));
      }
      await follow();
      const lists = nomad.requests.filter((r) => r.route === "/v1/allocations");
      expect(lists.map((r) => new URLSearchParams(r.query).get("prefix"))).toEqual([..."0123456789abcdef"]);
      expect(lists.every((r) => new URLSearchParams(r.query).get("per_page") === "1000")).toBe(true);
      const start = reads();
      for (const [i, name] of names.entries()) {
        const namespace = i % 2 === 0 ? "team-a" : "team-b";
        const observed = await scheduler.observe(
          { kind: "TrainingJob", namespace, name },
          recorded.get(name),
        );
        expect(
          observed?.replicas.map((r) => r.state),
          name,
        ).toEqual(["pending"]);
      }
      expect(reads() - start).toBe(0);
    },
  );

  it("of a shared cluster's allocations only the owned jobs' are kept from the lists", async () => {
    const other = new NomadScheduler({ client, ownerId: "owner-2" });
    await new NomadScheduler({ client, ownerId: "owner-1" }).submit(runRequest({ replicas: 2 }));
    for (const name of ["x", "y", "z"])
      await other.submit(runRequest({}, { ownerId: "owner-2", key: { ...key, namespace: "team-b", name } }));
    const kept = await listAllocations(client, new Map([["team-a/resnet", true]]));
    expect(kept.map((a) => `${a.Namespace}/${a.JobID}`)).toEqual(["team-a/resnet", "team-a/resnet"]);
    expect(await listAllocations(client, new Map())).toEqual([]);
    expect(nomad.requests.filter((r) => r.route === "/v1/allocations")).toHaveLength(16); // none for no job
  });

  it("an allocation list that fails leaves the jobs unseeded: each read once, a new one still costs its register alone", async () => {
    const recorded = await new NomadScheduler({ client, ownerId: "owner-1" }).submit(runRequest());
    nomad.failNext(50, 500, "No cluster leader", "/v1/allocations"); // past the client's retries
    await follow();
    const start = reads();
    expect(await scheduler.observe(key, recorded)).toMatchObject({ runId: "run-1" });
    expect(reads() - start).toBe(2); // the job and its allocations, as before the lists
    await scheduler.observe(key, recorded);
    expect(reads() - start).toBe(2); // then followed by the stream
    const fresh = { ...key, name: "fresh" };
    expect(await scheduler.observe(fresh)).toBeUndefined(); // absent: the job list stands
    expect(reads() - start).toBe(2);
  });

  it("a job older than the stream is read once, then followed; a stream gap reads it again", async () => {
    await scheduler.submit(runRequest());
    await follow();
    const start = reads();
    await scheduler.observe(key);
    await scheduler.observe(key);
    expect(reads() - start).toBe(2); // GET job and its allocations, once
    nomad.dropStreams();
    await until(
      () => nomad.openStreams === 1 && nomad.requests.filter((r) => r.route === "/v1/jobs").length >= 2,
    );
    await new Promise((r) => setTimeout(r, 50));
    await scheduler.observe(key);
    expect(reads() - start).toBe(4);
  });
});

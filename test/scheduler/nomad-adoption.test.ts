// Adoption in the Nomad scheduler (src/scheduler/adoption.ts), against the Nomad double: a job
// carrying a previous default owner id is observed as this operator's (told once), updated in place
// without touching its Meta (a Meta change is destructive in Nomad: scheduler/util.go tasksUpdated
// compares the combined task meta, and the running allocations would be replaced), registered
// under today's id by its next run, stopped and purged like an owned job, followed by the change
// feed, and never listed for orphan clean-up. Another owner's job stays foreign.
import type { Subscription } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ResourceKey } from "../../src/api/resources.ts";
import { NomadClient } from "../../src/clients/nomad/index.ts";
import { Adoption } from "../../src/scheduler/adoption.ts";
import { NomadScheduler, NotOwnedError } from "../../src/scheduler/nomad/index.ts";
import { runRequest } from "../doubles/nomad/fixtures.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";

describe("Adoption", () => {
  const adoption = new Adoption({ ownerId: "today", previous: ["earlier", "today"] });
  it.each([
    ["today", true, false],
    ["earlier", true, true],
    ["someone-else", false, false],
    [undefined, false, false],
  ])("owner id %s: owned %s, adoptable %s", (found, owned, adoptable) => {
    expect(adoption.owns(found)).toBe(owned);
    expect(adoption.adoptable(found)).toBe(adoptable);
  });

  it("tells each adoption once per object", () => {
    const told: string[] = [];
    const a = new Adoption({
      ownerId: "today",
      previous: ["earlier"],
      onAdopted: (key, { object, from, to }) => told.push(`${key} ${object} ${from}→${to}`),
    });
    a.adopted("TrainingJob/ml/a", "Nomad job ml/a", "earlier");
    a.adopted("TrainingJob/ml/a", "Nomad job ml/a", "earlier");
    a.adopted("TrainingJob/ml/b", "Nomad job ml/b", "earlier");
    expect(told).toEqual([
      "TrainingJob/ml/a Nomad job ml/a earlier→today",
      "TrainingJob/ml/b Nomad job ml/b earlier→today",
    ]);
  });
});

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("NomadScheduler adopting a previous default owner id", () => {
  let nomad: NomadDouble;
  let client: NomadClient;
  let scheduler: NomadScheduler;
  let subscription: Subscription | undefined;
  const adopted: string[] = [];
  const key = runRequest().key;
  const owner = async (id = "resnet") => (await client.readJob(id, "team-a"))?.Meta?.mlops_owner_id;

  beforeEach(async () => {
    adopted.length = 0;
    nomad = await startNomadDouble({ namespaces: ["team-a"], heartbeatMs: 50 });
    client = new NomadClient({ address: nomad.address }, {});
    // The earlier version registered the job under its default id.
    await new NomadScheduler({ client, ownerId: "earlier" }).submit(
      runRequest({ replicas: 2 }, { ownerId: "earlier" }),
    );
    await new NomadScheduler({ client, ownerId: "someone-else" }).submit(
      runRequest({}, { ownerId: "someone-else", key: { ...key, name: "theirs" } }),
    );
    scheduler = new NomadScheduler({
      client,
      ownerId: "owner-1",
      events: { backoffBaseMs: 20 },
      adoption: new Adoption({
        ownerId: "owner-1",
        previous: ["earlier"],
        onAdopted: (k, { from }) => adopted.push(`${k} from ${from}`),
      }),
    });
  });
  afterEach(async () => {
    subscription?.unsubscribe();
    subscription = undefined;
    await scheduler.close();
    await client.close();
    await nomad.close();
  });

  it("observes the job as its own, keeps its Meta through an in-place update, and rewrites it with the next run", async () => {
    const first = nomad.allocations("team-a", "resnet");
    for (const a of first) nomad.lifecycle.running(a.ID);
    expect(await scheduler.observe(key)).toMatchObject({ ownerId: "owner-1", runId: "run-1" });
    await scheduler.observe(key);
    expect(adopted).toEqual(["TrainingJob/team-a/resnet from earlier"]);

    const writes = nomad.writes;
    await scheduler.submit(runRequest({ replicas: 2 })); // converged: nothing to write
    expect(nomad.writes).toBe(writes);
    await scheduler.submit(runRequest({ replicas: 2, priority: 90 }, { specHash: "spec-2" }));
    expect(nomad.writes).toBe(writes + 1);
    expect(await owner()).toBe("earlier");
    const live = await scheduler.observe(key);
    expect(live?.replicas.map((r) => [r.id, r.state])).toEqual(first.map((a) => [a.ID, "running"]));

    await scheduler.submit(
      runRequest({ replicas: 2, image: "trainer:2" }, { runId: "run-2", generation: 4 }),
    );
    expect(await owner()).toBe("owner-1");
    expect((await scheduler.observe(key))?.runId).toBe("run-2");
  });

  it("stops and purges an adopted job; another owner's stays foreign; orphan listing is today's id only", async () => {
    const theirs = { ...key, name: "theirs" };
    expect((await scheduler.observe(theirs))?.ownerId).toBe("someone-else");
    await expect(scheduler.submit(runRequest({}, { key: theirs }))).rejects.toBeInstanceOf(NotOwnedError);
    await scheduler.purge(theirs);
    expect(await owner("theirs")).toBe("someone-else");
    expect(await scheduler.listOwned("owner-1")).toEqual([]);

    await scheduler.stop(key, "suspend");
    expect(await client.readJob("resnet", "team-a")).toMatchObject({ Stop: true });
    await scheduler.purge(key);
    expect(await client.readJob("resnet", "team-a")).toBeUndefined();
    expect(adopted).toEqual([]); // stop and purge read the job, they do not observe it
  });

  it("changes(): the adopted jobs' events wake their resources", async () => {
    const keys: ResourceKey[] = [];
    subscription = scheduler.changes().subscribe((k) => keys.push(k));
    await until(() => nomad.openStreams === 1);
    await new Promise((r) => setTimeout(r, 100));
    keys.length = 0;
    const alloc = nomad.allocations("team-a", "resnet")[0];
    nomad.lifecycle.running(alloc?.ID ?? "");
    await until(() => keys.length >= 1);
    expect(new Set(keys)).toEqual(new Set(["TrainingJob/team-a/resnet"]));
    // A job registered under the previous id after the list (an earlier replica still running) is
    // learned from its Job event; another owner's is not.
    keys.length = 0;
    const late = { ...key, name: "late" };
    await new NomadScheduler({ client, ownerId: "someone-else" }).submit(
      runRequest({}, { ownerId: "someone-else", key: { ...key, name: "other-late" } }),
    );
    await new NomadScheduler({ client, ownerId: "earlier" }).submit(
      runRequest({}, { ownerId: "earlier", key: late }),
    );
    await until(() => keys.includes("TrainingJob/team-a/late"));
    expect(keys).not.toContain("TrainingJob/team-a/other-late");
  });
});

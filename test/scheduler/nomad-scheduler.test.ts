import type { Subscription } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ResourceKey } from "../../src/api/resources.ts";
import { NomadClient } from "../../src/clients/nomad/index.ts";
import {
  META,
  NomadScheduler,
  NotOwnedError,
  nomadSchedulerFactory,
} from "../../src/scheduler/nomad/index.ts";
import { runRequest } from "../doubles/nomad/fixtures.ts";
import {
  type ConsulRegistration,
  doubleNode,
  gpuNode,
  type NomadDouble,
  startNomadDouble,
} from "../doubles/nomad/index.ts";

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("NomadScheduler against the Nomad double", () => {
  let nomad: NomadDouble;
  let client: NomadClient;
  let scheduler: NomadScheduler;
  let subscription: Subscription | undefined;
  const consul: { op: string; regs: ConsulRegistration[] }[] = [];
  const key = runRequest().key;

  beforeEach(async () => {
    consul.length = 0;
    nomad = await startNomadDouble({
      namespaces: ["team-a", "team-b"],
      heartbeatMs: 50,
      onServices: (op, regs) => consul.push({ op, regs }),
    });
    client = new NomadClient({ address: nomad.address }, {});
    scheduler = new NomadScheduler({ client, ownerId: "owner-1", events: { backoffBaseMs: 20 } });
  });
  afterEach(async () => {
    subscription?.unsubscribe();
    subscription = undefined;
    await scheduler.close();
    await client.close();
    await nomad.close();
  });

  it("submit is idempotent: the second submit makes zero writes", async () => {
    await scheduler.submit(runRequest());
    expect(nomad.writes).toBe(1);
    await scheduler.submit(runRequest());
    await scheduler.submit(runRequest());
    expect(nomad.writes).toBe(1);
    const observed = await scheduler.observe(key);
    expect(observed).toMatchObject({
      ownerId: "owner-1",
      runId: "run-1",
      specHash: "spec-1",
      stopped: false,
    });
    expect(observed?.replicas.map((r) => r.state)).toEqual(["pending"]);
  });

  it("an in-place change keeps the running allocations; a new run replaces them", async () => {
    await scheduler.submit(runRequest({ replicas: 2 }));
    const first = nomad.allocations("team-a", "resnet");
    for (const a of first) nomad.lifecycle.running(a.ID);
    await scheduler.submit(runRequest({ replicas: 2, priority: 90 }, { specHash: "spec-2" }));
    expect(nomad.writes).toBe(2);
    const live = await scheduler.observe(key);
    expect(live?.specHash).toBe("spec-2");
    expect((live?.rendered as { Priority?: number } | undefined)?.Priority).toBe(90);
    expect(live?.replicas.map((r) => [r.id, r.state])).toEqual(first.map((a) => [a.ID, "running"]));

    await scheduler.submit(
      runRequest(
        { replicas: 2, image: "trainer:2" },
        { runId: "run-2", generation: 4, specHash: "s3", runSpecHash: "r3" },
      ),
    );
    const next = await scheduler.observe(key);
    expect(next).toMatchObject({ runId: "run-2", generation: 4, runSpecHash: "r3" });
    expect(next?.replicas.map((r) => r.state)).toEqual(["pending", "pending"]);
    expect(next?.replicas.some((r) => first.some((a) => a.ID === r.id))).toBe(false);
    expect(nomad.allocations("team-a", "resnet").filter((a) => first.some((f) => f.ID === a.ID))).toEqual(
      first.map(() => expect.objectContaining({ DesiredStatus: "stop" })),
    );
  });

  it("follows a run to success, with services registered in Consul while it runs", async () => {
    await scheduler.submit(runRequest({ replicas: 2, metrics: { port: 9100, path: "/metrics" } }));
    const allocs = nomad.allocations("team-a", "resnet");
    for (const a of allocs) nomad.lifecycle.running(a.ID);
    await until(() => consul.filter((c) => c.op === "register").length === 2);
    expect(consul[0]?.regs[0]).toMatchObject({
      Tags: expect.arrayContaining(["prometheus"]),
      Meta: expect.objectContaining({ "external-source": "nomad", metrics_path: "/metrics" }),
    });
    const running = await scheduler.observe(key);
    expect(running?.replicas.map((r) => r.state)).toEqual(["running", "running"]);
    expect(running?.startTime).toBeDefined();
    for (const a of allocs) nomad.lifecycle.exit(a.ID, { exitCode: 0 });
    await until(() => consul.filter((c) => c.op === "deregister").length === 2);
    const done = await scheduler.observe(key);
    expect(done?.replicas.map((r) => [r.state, r.reason])).toEqual([
      ["succeeded", "Completed"],
      ["succeeded", "Completed"],
    ]);
    expect((done?.rendered as { Status?: string } | undefined)?.Status).toBe("dead");
  });

  it("reports OOM at once (no in-place restart: the operator owns attempts), and an image that cannot be pulled", async () => {
    await scheduler.submit(runRequest({ replicas: 2, backoffLimit: 1 }));
    const [a, b] = nomad.allocations("team-a", "resnet");
    nomad.lifecycle.running(a?.ID ?? "");
    nomad.lifecycle.exit(a?.ID ?? "", { exitCode: 137, oom: true });
    expect((await scheduler.observe(key))?.replicas[0]).toMatchObject({ state: "failed", restarts: 0 });
    nomad.lifecycle.driverFailure(b?.ID ?? "", "Failed to pull `trainer:nope`: manifest unknown");
    const observed = await scheduler.observe(key);
    expect(observed?.replicas.map((r) => [r.state, r.reason, r.exhausted])).toEqual([
      ["failed", "OOMKilled", true],
      ["failed", "ImageNotFound", true],
    ]);
  });

  it("reports a placement Nomad cannot make with feasible.go's reason, reading evaluations once per job version", async () => {
    const gpus = runRequest({ resources: { cpu: 100, memoryMB: 64, gpus: 2 } });
    await scheduler.submit(gpus);
    const evalReads = () => nomad.requests.filter((r) => r.route === "/v1/job/:id/evaluations").length;
    const observed = await scheduler.observe(key);
    expect(observed?.replicas).toEqual([]);
    expect(observed?.blocked?.reason).toBe("MissingDevice");
    expect(observed?.blocked?.message).toContain(
      'no node offers 2 nvidia/gpu ("missing devices" on 1 of 1 node(s))',
    );
    expect(await scheduler.placement(gpus)).toMatch(/^MissingDevice: .*missing devices/);
    // A node whose plugin fingerprints 1 GPU still cannot run a 2-GPU task (DeviceChecker): Nomad
    // reblocks the evaluation without writing it, and the operator reads nothing more.
    nomad.setNodes([gpuNode(1, 1)]);
    for (let i = 0; i < 3; i++) expect((await scheduler.observe(key))?.blocked?.reason).toBe("MissingDevice");
    expect(evalReads()).toBe(1);
    nomad.setNodes([gpuNode(1, 2)]); // the node update unblocks the evaluation: the run is placed
    const placed = await scheduler.observe(key);
    expect(placed?.blocked).toBeUndefined();
    expect(placed?.replicas.map((r) => [r.state, r.node])).toEqual([["pending", "double-node-1"]]);
  });

  it("a host volume no node declares is MissingHostVolume; a read-only one does not serve a read-write mount", async () => {
    const run = runRequest({ volumes: [{ name: "checkpoints", mountPath: "/ckpt", readOnly: false }] });
    await scheduler.submit(run);
    expect((await scheduler.observe(key))?.blocked).toMatchObject({
      reason: "MissingHostVolume",
      message: expect.stringContaining('no node has host volume "checkpoints" (read-write)'),
    });
    nomad.setNodes([doubleNode(1, { hostVolumes: { checkpoints: { path: "/srv/ckpt", readOnly: true } } })]);
    expect((await scheduler.observe(key))?.blocked?.reason).toBe("MissingHostVolume");
    nomad.setNodes([doubleNode(1, { hostVolumes: { checkpoints: { path: "/srv/ckpt", readOnly: false } } })]);
    expect((await scheduler.observe(key))?.replicas).toHaveLength(1);
  });

  it("changes(): an Evaluation event that fails to place wakes the job, and observe then reads no evaluations", async () => {
    const keys: ResourceKey[] = [];
    await scheduler.submit(runRequest()); // owned before the stream: mapped by the first list
    subscription = scheduler.changes().subscribe((k) => keys.push(k));
    await until(() => nomad.openStreams === 1);
    const stream = nomad.requests.find((r) => r.route === "/v1/event/stream");
    expect(new URLSearchParams(stream?.query).getAll("topic")).toEqual([
      "Job:*",
      "Allocation:*",
      "Evaluation:*",
    ]);
    keys.length = 0;
    await scheduler.submit(
      runRequest({ volumes: [{ name: "datasets", mountPath: "/data", readOnly: true }] }, { runId: "run-2" }),
    );
    await until(() => keys.includes("TrainingJob/team-a/resnet"));
    await new Promise((r) => setTimeout(r, 100));
    const reads = nomad.requests.filter((r) => r.route === "/v1/job/:id/evaluations").length;
    expect((await scheduler.observe(key))?.blocked?.reason).toBe("MissingHostVolume");
    expect(nomad.requests.filter((r) => r.route === "/v1/job/:id/evaluations").length).toBe(reads);
  });

  it("placement summarises Nomad's plan", async () => {
    expect(await scheduler.placement(runRequest({ replicas: 2 }))).toBe("placed 2 of 2");
    await scheduler.submit(runRequest({ replicas: 2 }));
    expect(await scheduler.placement(runRequest({ replicas: 2 }))).toMatch(/^no change/);
    expect(nomad.writes).toBe(1);
  });

  it("stop keeps the job (stopped); submitting again resumes it; purge removes it and is idempotent", async () => {
    await scheduler.submit(runRequest());
    await scheduler.stop(key, "suspend");
    const stopped = await scheduler.observe(key);
    expect(stopped?.stopped).toBe(true);
    expect(stopped?.replicas[0]).toMatchObject({ state: "failed", reason: "Stopped", exhausted: false });
    const writes = nomad.writes;
    await scheduler.stop(key, "suspend");
    expect(nomad.writes).toBe(writes);
    await scheduler.submit(runRequest({ suspend: false }, { specHash: "spec-resumed" }));
    const resumed = await scheduler.observe(key);
    expect(resumed?.stopped).toBe(false);
    expect(resumed?.replicas.map((r) => r.state)).toEqual(["pending"]);
    // The allocation the suspension stopped is not a restart of the resumed run (it read "1
    // restart(s) so far", reason Restarting, where the Docker scheduler counts none).
    expect(resumed?.replicas.map((r) => r.restarts)).toEqual([0]);
    expect(resumed?.runId).toBe(stopped?.runId);
    await scheduler.purge(key);
    expect(await scheduler.observe(key)).toBeUndefined();
    const afterPurge = nomad.writes;
    await scheduler.purge(key);
    expect(nomad.writes).toBe(afterPurge);
  });

  it("repairs a job purged behind its back (submit registers it again)", async () => {
    await scheduler.submit(runRequest());
    const [old] = nomad.allocations("team-a", "resnet");
    nomad.lifecycle.running(old?.ID ?? "");
    await client.deregister("resnet", "team-a", { purge: true });
    await scheduler.submit(runRequest());
    const repaired = await scheduler.observe(key);
    expect(repaired?.runId).toBe("run-1");
    // The purged instance's allocation (same job ID) is not mixed into the new one.
    expect(repaired?.replicas.map((r) => [r.state, r.id === old?.ID])).toEqual([["pending", false]]);
  });

  it("submit after observe found no job registers without reading it again", async () => {
    expect(await scheduler.observe(key)).toBeUndefined();
    const before = nomad.requests.length;
    await scheduler.submit(runRequest());
    const routes = nomad.requests.slice(before).map((r) => `${r.method} ${r.route}`);
    expect(routes.filter((r) => r === "GET /v1/job/:id")).toEqual([]);
    expect(routes).toContain("POST /v1/jobs");
    expect(nomad.writes).toBe(1);
  });

  it("a job that appeared between observe and submit is read again (check-and-set), never taken", async () => {
    expect(await scheduler.observe(key)).toBeUndefined();
    const other = new NomadScheduler({ client, ownerId: "owner-2" });
    await other.submit(runRequest({}, { ownerId: "owner-2" }));
    const writes = nomad.writes;
    await expect(scheduler.submit(runRequest())).rejects.toBeInstanceOf(NotOwnedError);
    expect(nomad.writes).toBe(writes + 1); // the refused check-and-set register, nothing else
    expect((await client.readJob("resnet", "team-a"))?.Meta?.[META.ownerId]).toBe("owner-2");
  });

  it("never touches a job of another owner (submit: NotOwned; stop, purge: nothing of ours to do), nor an unmanaged one", async () => {
    const other = new NomadScheduler({ client, ownerId: "owner-2" });
    await other.submit(runRequest({}, { ownerId: "owner-2" }));
    const writes = nomad.writes;
    await expect(scheduler.submit(runRequest())).rejects.toBeInstanceOf(NotOwnedError);
    await scheduler.stop(key, "suspend");
    await scheduler.purge(key);
    expect(nomad.writes).toBe(writes);
    expect(await client.readJob("resnet", "team-a")).toMatchObject({ Stop: false });
    const hand = (await client.readJob("resnet", "team-a")) as NonNullable<
      Awaited<ReturnType<NomadClient["readJob"]>>
    >;
    await client.register({ ...hand, ID: "by-hand", Name: "by-hand", Meta: { team: "x" } });
    await expect(scheduler.submit(runRequest({}, { key: { ...key, name: "by-hand" } }))).rejects.toThrow(
      /not managed by mlops-operator/,
    );
    await scheduler.purge({ ...key, name: "by-hand" });
    expect(await client.readJob("by-hand", "team-a")).toMatchObject({ Meta: { team: "x" } });
  });

  it.each([
    ["from the leader", false],
    ["forwarded by a client agent ('rpc error: …', helper/pool/pool.go)", true],
  ])("retries a check-and-set conflict from a fresh read: %s", async (_, forwarded) => {
    nomad.forwarded = forwarded;
    await scheduler.submit(runRequest());
    const live = await client.readJob("resnet", "team-a");
    let raced = false;
    const original = client.readJob.bind(client);
    client.readJob = async (id, ns, signal) => {
      const job = await original(id, ns, signal);
      if (!raced && job) {
        raced = true; // someone else changes the job between our read and our write
        await client.register({ ...job, Priority: 77 });
      }
      return job;
    };
    await scheduler.submit(runRequest({ priority: 60 }, { specHash: "spec-2" }));
    const after = await original("resnet", "team-a");
    expect(after?.Priority).toBe(60);
    expect(after?.JobModifyIndex).toBeGreaterThan(live?.JobModifyIndex ?? 0);
  });

  it("lists the jobs it owns across namespaces", async () => {
    await scheduler.submit(runRequest());
    await scheduler.submit(
      runRequest({}, { key: { kind: "TrainingJob", namespace: "team-b", name: "bert" } }),
    );
    const other = new NomadScheduler({ client, ownerId: "owner-2" });
    await other.submit(
      runRequest({}, { ownerId: "owner-2", key: { kind: "TrainingJob", namespace: "team-b", name: "gpt" } }),
    );
    const owned = await scheduler.listOwned("owner-1");
    expect(owned.map((o) => o.key).sort()).toEqual(["TrainingJob/team-a/resnet", "TrainingJob/team-b/bert"]);
    expect(owned[0]?.runId).toBe("run-1");
    expect(
      nomad.requests.filter((r) => r.route === "/v1/jobs" && r.method === "GET").at(-1)?.query,
    ).toContain(encodeURIComponent(META.ownerId));
  });

  it("changes(): follows the stream from the index of its first list (no gap between list and stream)", async () => {
    await scheduler.submit(runRequest());
    const listed = await client.listJobsAt();
    const keys: ResourceKey[] = [];
    subscription = scheduler.changes().subscribe((k) => keys.push(k));
    await until(() => nomad.openStreams === 1);
    const stream = nomad.requests.find((r) => r.route === "/v1/event/stream");
    expect(new URLSearchParams(stream?.query).get("index")).toBe(String(listed.index + 1));
    expect(new URLSearchParams(stream?.query).getAll("topic")).toEqual([
      "Job:*",
      "Allocation:*",
      "Evaluation:*",
    ]);
    expect(new URLSearchParams(stream?.query).get("namespace")).toBe("*");
    nomad.lifecycle.running(nomad.allocations("team-a", "resnet")[0]?.ID ?? "");
    await until(() => keys.includes("TrainingJob/team-a/resnet")); // an allocation event, mapped via the list
  });

  it("changes(): owned jobs only, allocation events mapped back, re-list after a reconnect", async () => {
    const keys: ResourceKey[] = [];
    subscription = scheduler.changes().subscribe((k) => keys.push(k));
    await until(() => nomad.openStreams === 1);
    const other = new NomadScheduler({ client, ownerId: "owner-2" });
    await other.submit(
      runRequest({}, { ownerId: "owner-2", key: { kind: "TrainingJob", namespace: "team-b", name: "gpt" } }),
    );
    await scheduler.submit(runRequest());
    // Both allocations run (a register's own events wake nothing: nomad-own-writes.test.ts).
    nomad.lifecycle.running(nomad.allocations("team-b", "gpt")[0]?.ID ?? "");
    nomad.lifecycle.running(nomad.allocations("team-a", "resnet")[0]?.ID ?? "");
    await until(() => keys.length >= 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(new Set(keys)).toEqual(new Set(["TrainingJob/team-a/resnet"]));
    keys.length = 0;
    nomad.dropStreams();
    await until(() => keys.includes("TrainingJob/team-a/resnet"));
    expect(keys).not.toContain("TrainingJob/team-b/gpt");
  });

  it("streams a replica's logs", async () => {
    await scheduler.submit(runRequest({ replicas: 2 }));
    const second = nomad.allocations("team-a", "resnet")[1];
    nomad.lifecycle.appendLog(second?.ID ?? "", "main", "rank 1 ready\n");
    const lines: string[] = [];
    for await (const line of scheduler.logs(key, { follow: false, replica: 1 })) lines.push(line);
    expect(lines).toEqual(["rank 1 ready"]);
  });

  it("the factory builds a scheduler per address, on a Docker network when given", async () => {
    const make = nomadSchedulerFactory({ ownerId: "owner-1", env: {} });
    const onStack = make(nomad.address, "mlops-network");
    expect(onStack.target).toBe(nomad.address);
    expect(JSON.stringify(onStack.render(runRequest({ metrics: { port: 1, path: "/m" } })))).toContain(
      "mlops-network",
    );
    await onStack.submit(runRequest());
    expect((await scheduler.observe(key))?.runId).toBe("run-1");
    await onStack.close();
  });
});

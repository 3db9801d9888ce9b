// What the Nomad scheduler's change feed sees beyond the event stream itself: jobs gone while the
// stream was down (the server's buffer overflowed, or its state was reset), namespaces created after
// the stream opened (nomad/event_endpoint.go expands `namespace=*` at subscribe), and TrainingJobs
// waiting for their namespace.
import type { Subscription } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import type { ResourceKey } from "../../src/api/resources.ts";
import { NomadClient, type NomadError } from "../../src/clients/nomad/index.ts";
import { NomadScheduler } from "../../src/scheduler/nomad/index.ts";
import type { RunRequest } from "../../src/scheduler/port.ts";
import { runRequest } from "../doubles/nomad/fixtures.ts";
import { NomadDouble } from "../doubles/nomad/index.ts";

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

const run = (name: string, namespace = "team-a"): RunRequest =>
  runRequest({}, { key: { kind: "TrainingJob", namespace, name } });

describe("NomadScheduler.changes() beyond the event stream", () => {
  let nomad: NomadDouble;
  let client: NomadClient;
  let scheduler: NomadScheduler;
  let subscription: Subscription | undefined;
  const keys: ResourceKey[] = [];

  async function start(options: ConstructorParameters<typeof NomadDouble>[0] = {}) {
    keys.length = 0;
    nomad = await new NomadDouble({ namespaces: ["team-a"], heartbeatMs: 1_000, ...options }).start();
    client = new NomadClient({ address: nomad.address }, {});
    scheduler = new NomadScheduler({
      client,
      ownerId: "owner-1",
      events: { backoffBaseMs: 20, backoffMaxMs: 200 },
    });
  }
  function follow() {
    subscription = scheduler.changes().subscribe((k) => keys.push(k));
  }
  afterEach(async () => {
    subscription?.unsubscribe();
    subscription = undefined;
    await scheduler.close();
    await client.close();
    await nomad.close();
  });

  it("jobs purged while the stream was down (beyond the server's buffer) are reported on reconnect", async () => {
    await start({ eventBufferSize: 3 });
    for (const name of ["a", "b", "c"]) await scheduler.submit(run(name));
    follow();
    await until(() => nomad.openStreams === 1);
    keys.length = 0;
    await nomad.setOutage("refuse");
    // While the operator cannot connect, two jobs are purged and the buffer moves on past them.
    nomad.state.deregister("team-a", "a", true);
    nomad.state.deregister("team-a", "b", true);
    for (let i = 0; i < 5; i++) nomad.state.register({ ...scheduler.render(run(`other-${i}`)), Meta: {} });
    await nomad.setOutage("none");
    await until(() => keys.includes("TrainingJob/team-a/a") && keys.includes("TrainingJob/team-a/b"), 5_000);
  });

  it("a job registered while a re-list is under way is not taken for gone", async () => {
    await start();
    await scheduler.submit(run("a"));
    follow();
    await until(() => nomad.openStreams === 1);
    const original = client.listJobsAt.bind(client);
    let raced = false;
    let listed = false;
    client.listJobsAt = async (options) => {
      const answer = await original(options);
      // The list is taken namespace by namespace: the race comes after team-a's (fresh's) list.
      if (!raced && options?.namespace === "team-a") {
        raced = true; // a new job is registered, and its events seen, after the list was read
        await scheduler.submit(run("fresh"));
        // Its own register's events wake nothing; its allocation running does.
        nomad.lifecycle.running(nomad.allocations("team-a", "fresh")[0]?.ID ?? "");
        await until(() => keys.includes("TrainingJob/team-a/fresh"));
        await new Promise((r) => setTimeout(r, 200));
        keys.length = 0;
        listed = true;
      }
      return answer;
    };
    nomad.dropStreams();
    await until(() => listed);
    await new Promise((r) => setTimeout(r, 300));
    expect(keys).toContain("TrainingJob/team-a/a"); // the re-list's own report
    expect(keys).not.toContain("TrainingJob/team-a/fresh"); // not reported gone, nor forgotten
  });

  it("after Nomad's state is reset (index back to 1, every job gone) every known job is reported", async () => {
    await start();
    const port = Number(new URL(nomad.address).port);
    const names = Array.from({ length: 20 }, (_, i) => `job-${i}`);
    for (const name of names) await scheduler.submit(run(name));
    follow();
    await until(() => nomad.openStreams === 1);
    // The old server's namespace index ends well above anything the new one reaches in this test.
    for (let i = 0; i < 200; i++) nomad.state.bump(["evals"]);
    nomad.addNamespace("before-reset");
    await until(() => nomad.streamNamespaces()[0]?.includes("before-reset") === true, 5_000);
    await nomad.close();
    nomad = await new NomadDouble({ port, namespaces: ["team-a"], heartbeatMs: 1_000 }).start();
    await until(() => names.every((n) => keys.includes(`TrainingJob/team-a/${n}`)), 5_000);
    // Reconciling them registers them again, and the reset stream keeps reporting (low indexes).
    for (const name of names) await scheduler.submit(run(name));
    keys.length = 0;
    await client.deregister("job-3", "team-a", { purge: true });
    await until(() => keys.includes("TrainingJob/team-a/job-3"), 5_000);
    // The namespace watch starts over on the reset server too (its index is below the old one).
    nomad.addNamespace("after-reset");
    await until(() => nomad.streamNamespaces()[0]?.includes("after-reset") === true, 5_000);
  });

  it("a namespace created after the stream opened is covered: the stream re-subscribes (≤ 1 list/s)", async () => {
    await start();
    follow();
    await until(() => nomad.openStreams === 1);
    expect(nomad.streamNamespaces()).toEqual([["default", "team-a"]]);
    for (let i = 0; i < 10; i++) nomad.addNamespace(`burst-${i}`);
    nomad.addNamespace("late");
    await until(() => nomad.streamNamespaces()[0]?.includes("late") === true, 5_000);
    expect(nomad.openStreams).toBe(1);
    // Someone else (the same owner id on another replica) runs a job in it: its changes arrive.
    await client.register(scheduler.render(run("x", "late")));
    keys.length = 0;
    nomad.lifecycle.running(nomad.allocations("late", "x")[0]?.ID ?? "");
    await until(() => keys.includes("TrainingJob/late/x"), 5_000);
    const started = performance.now();
    const before = nomad.requests.filter((r) => r.route === "/v1/namespaces").length;
    for (let i = 0; i < 30; i++) {
      nomad.addNamespace(`more-${i}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const lists = nomad.requests.filter((r) => r.route === "/v1/namespaces").length - before;
    const seconds = (performance.now() - started) / 1000;
    expect(lists).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
  });

  it("registering in a namespace the stream does not cover re-subscribes at once", async () => {
    await start({ namespaces: ["team-a"] });
    follow();
    await until(() => nomad.openStreams === 1);
    nomad.state.namespaces.add("quiet"); // no index change: the namespace watcher is not woken
    await scheduler.submit(run("y", "quiet"));
    await until(() => nomad.streamNamespaces()[0]?.includes("quiet") === true, 5_000);
    keys.length = 0;
    nomad.lifecycle.running(nomad.allocations("quiet", "y")[0]?.ID ?? "");
    await until(() => keys.includes("TrainingJob/quiet/y"), 5_000);
  });

  it("a TrainingJob whose namespace did not exist is reported as soon as the namespace appears", async () => {
    await start();
    follow();
    await until(() => nomad.openStreams === 1);
    const error = await scheduler.submit(run("z", "later")).catch((e: unknown) => e);
    expect((error as NomadError).reason).toBe("NamespaceNotFound");
    await new Promise((r) => setTimeout(r, 300));
    expect(keys).not.toContain("TrainingJob/later/z");
    const created = performance.now();
    nomad.addNamespace("later");
    await until(() => keys.includes("TrainingJob/later/z"), 10_000);
    expect(performance.now() - created).toBeLessThan(2_000);
    await scheduler.submit(run("z", "later"));
    expect(nomad.state.job("later", "z")).toBeDefined();
  });
});

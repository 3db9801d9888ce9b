// The Nomad scheduler's list of every job (the change feed's, and orphan clean-up's by owner): one
// namespace after another, each in pages, so no response holds every job; right where one
// namespace's name begins another's (Nomad pages `namespace=*` wrongly there); and one request for
// every job when the server lists no namespace.
import { afterEach, describe, expect, it } from "vitest";
import { NomadClient } from "../../src/clients/nomad/index.ts";
import { NomadScheduler } from "../../src/scheduler/nomad/index.ts";
import { listJobs, listOwnedAt } from "../../src/scheduler/nomad/listing.ts";
import { ownerFilter } from "../../src/scheduler/nomad/meta.ts";
import { nomadJob, runRequest } from "../doubles/nomad/fixtures.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";

let nomad: NomadDouble;
let client: NomadClient;

afterEach(async () => {
  await client.close();
  await nomad.close();
});

/** Three jobs in each of `default`, `team` and `team-a` (by hand: no owner). */
async function start(): Promise<void> {
  nomad = await startNomadDouble({ namespaces: ["team", "team-a"] });
  client = new NomadClient({ address: nomad.address, retries: 0 }, {});
  for (const namespace of ["team-a", "default", "team"])
    for (const id of ["c", "a", "b"]) await client.register(nomadJob(id, namespace));
}

const jobLists = () =>
  nomad.requests
    .filter((r) => r.method === "GET" && r.route === "/v1/jobs")
    .map((r) => Object.fromEntries(new URLSearchParams(r.query)));
const names = (jobs: { Namespace: string; ID: string }[]) => jobs.map((j) => `${j.Namespace}/${j.ID}`);

describe("listJobs", () => {
  it("lists namespace after namespace in pages: every job once, at the first list's index", async () => {
    await start();
    const tableIndex = nomad.state.tableIndex("jobs");
    const { jobs, index } = await listJobs(client, undefined, 2);
    expect(names(jobs)).toEqual([
      "default/a",
      "default/b",
      "default/c",
      "team/a",
      "team/b",
      "team/c",
      "team-a/a",
      "team-a/b",
      "team-a/c",
    ]);
    expect(index).toBe(tableIndex);
    expect(jobLists().map((q) => [q.namespace, q.per_page, q.next_token ?? ""])).toEqual([
      ["default", "2", ""],
      ["default", "2", "default.c"],
      ["team", "2", ""],
      ["team", "2", "team.c"],
      ["team-a", "2", ""],
      ["team-a", "2", "team-a.c"],
    ]);
  });

  it("passes the owner filter to every list; orphan clean-up finds this owner's jobs in every namespace", async () => {
    await start();
    const mine = new NomadScheduler({ client, ownerId: "owner-1" });
    await mine.submit(
      runRequest({}, { ownerId: "owner-1", key: { kind: "TrainingJob", namespace: "team", name: "x" } }),
    );
    await mine.submit(
      runRequest({}, { ownerId: "owner-1", key: { kind: "TrainingJob", namespace: "team-a", name: "y" } }),
    );
    const listed = await listOwnedAt(client, "owner-1", () => false);
    expect(listed.owned.map((o) => o.where).sort()).toEqual(["team-a/y", "team/x"]);
    expect(jobLists().every((q) => q.filter === ownerFilter("owner-1"))).toBe(true);
  });

  it("asks for every job at once when the server has no namespace list (404)", async () => {
    await start();
    nomad.failNext(1, 404, "Invalid URL", "/v1/namespaces");
    const { jobs } = await listJobs(client, undefined, 2);
    expect(jobs).toHaveLength(9);
    expect(jobLists().map((q) => [q.namespace, q.per_page])).toEqual([["*", undefined]]);
  });

  it("fails as the namespace list fails when Nomad errs (no silent list of nothing)", async () => {
    await start();
    nomad.failNext(5, 500, "No cluster leader", "/v1/namespaces");
    await expect(listJobs(client)).rejects.toMatchObject({ reason: "NomadUnavailable" });
    expect(jobLists()).toEqual([]);
  });
});

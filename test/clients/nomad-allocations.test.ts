// NomadClient.listAllocationsAt against the Nomad double: every allocation of every namespace (or of
// one), task states included, page after page; and the pages of a Nomad < 1.10.2 that start over
// (hashicorp/nomad#25435), taken again in one request.
import { afterEach, describe, expect, it } from "vitest";
import { NomadClient } from "../../src/clients/nomad/index.ts";
import type { NomadAllocation, NomadJob } from "../../src/clients/nomad/types.ts";
import { nomadJob } from "../doubles/nomad/fixtures.ts";
import { type NomadDouble, type RequestRecord, startNomadDouble } from "../doubles/nomad/index.ts";

const NAMESPACES = ["team-a", "team-b"];

const withCount = (job: NomadJob, count: number): NomadJob => ({
  ...job,
  TaskGroups: job.TaskGroups.map((g) => ({ ...g, Count: count })),
});

let nomad: NomadDouble;
let client: NomadClient;

/** Jobs in three namespaces (one with two allocations, one re-registered: its first one stopped). */
async function start(version?: string): Promise<void> {
  nomad = await startNomadDouble({ namespaces: NAMESPACES, ...(version ? { version } : {}) });
  client = new NomadClient({ address: nomad.address, retries: 0 }, {});
  for (const id of ["a", "b", "c"]) await client.register(nomadJob(id));
  await client.register(nomadJob("d", "team-a"));
  await client.register(withCount(nomadJob("e", "team-a"), 2));
  await client.register(nomadJob("f", "team-b"));
  await client.register(nomadJob("f", "team-b", { v: "2" }));
  nomad.lifecycle.running(nomad.allocations("default", "a")[0]?.ID ?? "");
}

afterEach(async () => {
  await client.close();
  await nomad.close();
});

/** The double's allocations (of `namespace`, default all) as Nomad lists them: by CreateIndex, then ID. */
function expected(namespace = "*"): string[] {
  return [...nomad.state.allocs.values()]
    .filter((a) => namespace === "*" || a.Namespace === namespace)
    .sort((a, b) => a.CreateIndex - b.CreateIndex || (a.ID < b.ID ? -1 : 1))
    .map((a) => a.ID);
}

const ids = (allocations: NomadAllocation[]) => allocations.map((a) => a.ID);
const listRequests = (): URLSearchParams[] =>
  nomad.requests.filter((r) => r.route === "/v1/allocations").map((r) => new URLSearchParams(r.query));

/** Runs `fn` as the double records the `nth` request (0-based) to `route`, before it answers it. */
function onRequest(route: string, nth: number, fn: () => void): void {
  const push = nomad.requests.push.bind(nomad.requests);
  let seen = 0;
  nomad.requests.push = (...records: RequestRecord[]) => {
    if (records[0]?.route === route && seen++ === nth) fn();
    return push(...records);
  };
}

describe("NomadClient.listAllocationsAt against the Nomad double", () => {
  it("by default lists every namespace (namespace=*), task states included, at the allocs index", async () => {
    await start();
    const { allocations, index } = await client.listAllocationsAt();
    expect(new Set(allocations.map((a) => a.Namespace))).toEqual(new Set(["default", ...NAMESPACES]));
    expect(ids(allocations)).toEqual(expected());
    expect(allocations).toHaveLength(8);
    expect(allocations.filter((a) => a.DesiredStatus === "stop").map((a) => a.JobID)).toEqual(["f"]);
    for (const alloc of allocations) expect(Object.keys(alloc.TaskStates ?? {})).toEqual(["main"]);
    expect(allocations.find((a) => a.JobID === "a")?.TaskStates?.main?.State).toBe("running");
    expect(index).toBe(nomad.state.tableIndex("allocs"));
    const [query] = listRequests();
    expect(query?.get("namespace")).toBe("*");
    expect(query?.get("task_states")).toBe("true");
    expect(query?.has("per_page")).toBe(false);
  });

  it("a namespace lists its own allocations only", async () => {
    await start();
    for (const namespace of ["default", ...NAMESPACES]) {
      const { allocations } = await client.listAllocationsAt({ namespace });
      expect(ids(allocations)).toEqual(expected(namespace));
      expect(allocations.every((a) => a.Namespace === namespace)).toBe(true);
    }
    expect((await client.listAllocationsAt({ namespace: "team-a" })).allocations).toHaveLength(3);
  });

  it("pages of per_page 2 join into the whole list: none lost, none twice (Nomad 2.0.3)", async () => {
    await start("2.0.3");
    // The list crosses CreateIndex 9 → 10, where token order and numeric order part.
    expect(nomad.state.tableIndex("allocs")).toBeGreaterThan(10);
    const { allocations } = await client.listAllocationsAt({ perPage: 2 });
    expect(ids(allocations)).toEqual(expected());
    expect(new Set(ids(allocations)).size).toBe(allocations.length);
    const queries = listRequests();
    expect(queries).toHaveLength(4);
    expect(queries.map((q) => q.get("per_page"))).toEqual(["2", "2", "2", "2"]);
    expect(queries.map((q) => q.get("next_token"))).toEqual([
      null,
      ...[2, 4, 6].map((i) => `${allocations[i]?.CreateIndex}.${allocations[i]?.ID}`),
    ]);
  });

  it("the index is the first page's, though allocations change between pages", async () => {
    await start("2.0.3");
    const before = nomad.state.tableIndex("allocs");
    onRequest("/v1/allocations", 1, () =>
      nomad.lifecycle.running(nomad.allocations("default", "b")[0]?.ID ?? ""),
    );
    const { allocations, index } = await client.listAllocationsAt({ perPage: 3 });
    expect(index).toBe(before);
    expect(nomad.state.tableIndex("allocs")).toBeGreaterThan(before);
    expect(ids(allocations)).toEqual(expected());
  });

  it("Nomad 1.9 pages that start over (hashicorp/nomad#25435) are taken again in one request", async () => {
    await start(); // the double answers as 1.9.7
    const { allocations, index } = await client.listAllocationsAt({ perPage: 2 });
    expect(ids(allocations)).toEqual(expected());
    expect(new Set(ids(allocations)).size).toBe(allocations.length);
    const queries = listRequests();
    expect(queries.length).toBeGreaterThan(2);
    const last = queries.at(-1);
    expect(last?.has("per_page")).toBe(false);
    expect(last?.has("next_token")).toBe(false);
    expect(queries.slice(0, -1).every((q) => q.get("per_page") === "2")).toBe(true);
    expect(index).toBe(nomad.state.tableIndex("allocs"));
  });

  it("pages that keep starting over never reach MAX_PAGES: the first repeat ends them", async () => {
    await start();
    const { allocations } = await client.listAllocationsAt({ perPage: 1 });
    expect(ids(allocations)).toEqual(expected());
    expect(listRequests().length).toBeLessThan(expected().length + 2);
  });
});

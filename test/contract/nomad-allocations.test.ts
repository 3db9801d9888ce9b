// The Nomad double's GET /v1/allocations, checked against what Nomad's source says (v1.9.6):
// command/agent/alloc_endpoint.go AllocsRequest (task_states, resources), nomad/alloc_endpoint.go
// List (namespace, prefix, filter, the tokenizer per walk), nomad/state/paginator (per_page,
// next_token, reverse; the string comparison of hashicorp/nomad#25435, numeric from 1.10.2),
// nomad/structs/structs.go Allocation.Stub. On the double only: it needs allocations at chosen
// indexes, and both sides of a version difference.
import { afterEach, describe, expect, it } from "vitest";
import { NomadClient } from "../../src/clients/nomad/index.ts";
import type { NomadJob } from "../../src/clients/nomad/types.ts";
import { nomadJob } from "../doubles/nomad/fixtures.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";

interface Stub {
  ID: string;
  Namespace: string;
  CreateIndex: number;
  ClientStatus: string;
  TaskStates: Record<string, unknown> | null;
}

let nomad: NomadDouble;
let client: NomadClient;

const withCount = (job: NomadJob, count: number): NomadJob => ({
  ...job,
  TaskGroups: job.TaskGroups.map((g) => ({ ...g, Count: count })),
});

/** Allocations in two namespaces at CreateIndexes 3 to 13 (crossing 9 → 10), one running. */
async function start(version = "1.9.6", extra?: NomadJob): Promise<void> {
  nomad = await startNomadDouble({ namespaces: ["team-a"], version });
  client = new NomadClient({ address: nomad.address, retries: 0 }, {});
  for (const id of ["a", "b", "c", "d"]) await client.register(nomadJob(id));
  await client.register(nomadJob("e", "team-a"));
  await client.register(nomadJob("f", "team-a"));
  if (extra) await client.register(extra);
  nomad.lifecycle.running(nomad.allocations("default", "a")[0]?.ID ?? "");
}

afterEach(async () => {
  await client.close();
  await nomad.close();
});

async function list(query: string): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await fetch(`${nomad.address}/v1/allocations${query}`);
  const text = await response.text();
  const json = response.headers.get("content-type")?.includes("json");
  return { status: response.status, body: json ? JSON.parse(text) : text, headers: response.headers };
}

const stubs = async (query: string) => (await list(query)).body as Stub[];
const token = (s: Stub | undefined) => `${s?.CreateIndex}.${s?.ID}`;
const byCreateIndex = (a: Stub, b: Stub) => a.CreateIndex - b.CreateIndex || (a.ID < b.ID ? -1 : 1);

describe("GET /v1/allocations on the Nomad double", () => {
  it("namespace like /v1/jobs: absent is default, * is every one, a namespace its own, an unknown one none", async () => {
    await start();
    const all = await stubs("?namespace=*");
    expect(all).toHaveLength(6);
    expect((await stubs("")).map((s) => s.Namespace)).toEqual(["default", "default", "default", "default"]);
    expect((await stubs("?namespace=team-a")).map((s) => s.ID)).toEqual(
      all.filter((s) => s.Namespace === "team-a").map((s) => s.ID),
    );
    expect(await list("?namespace=nope")).toMatchObject({ status: 200, body: [] });
  });

  it("task_states: absent or true keeps TaskStates, false leaves them null (Allocation.Stub, AllocStubFields)", async () => {
    await start();
    const full = await stubs("?namespace=*");
    expect(full.every((s) => s.TaskStates !== null && "main" in s.TaskStates)).toBe(true);
    expect(await stubs("?namespace=*&task_states=true")).toEqual(full);
    expect(await stubs("?namespace=*&task_states=1&resources=false")).toEqual(full);
    const bare = await stubs("?namespace=*&task_states=false");
    expect(bare).toEqual(full.map((s) => ({ ...s, TaskStates: null })));
    expect(bare.every((s) => "TaskStates" in s)).toBe(true);
    // command/agent/http.go parseBool: strconv.ParseBool's error, returned by the handler: a 500.
    expect(await list("?task_states=maybe")).toMatchObject({
      status: 500,
      body: 'Failed to parse value of "task_states" (maybe) as a bool: strconv.ParseBool: parsing "maybe": invalid syntax',
    });
  });

  it("walks by CreateIndex then ID; X-Nomad-NextToken is the next page's first, as <CreateIndex>.<ID>", async () => {
    await start("1.9.6", withCount(nomadJob("g"), 2)); // two allocations with one CreateIndex
    const all = await stubs("?namespace=*");
    expect(all).toEqual([...all].sort(byCreateIndex));
    expect(all.filter((s) => s.CreateIndex === all.at(-1)?.CreateIndex)).toHaveLength(2);
    const first = await list("?namespace=*&per_page=3");
    expect((first.body as Stub[]).map((s) => s.ID)).toEqual(all.slice(0, 3).map((s) => s.ID));
    expect(first.headers.get("x-nomad-nexttoken")).toBe(token(all[3]));
    expect(Number(first.headers.get("x-nomad-index"))).toBe(nomad.state.tableIndex("allocs"));
    const second = await list(`?namespace=*&per_page=3&next_token=${token(all[3])}`); // "9.<id>"
    expect((second.body as Stub[]).map((s) => s.ID)).toEqual(all.slice(3, 6).map((s) => s.ID));
    expect(second.headers.get("x-nomad-nexttoken")).toBe(token(all[6]));
    const whole = await list(`?namespace=*&per_page=${all.length}`);
    expect(whole.headers.has("x-nomad-nexttoken")).toBe(false);
    const reversed = await list("?namespace=*&reverse=true&per_page=2");
    expect((reversed.body as Stub[]).map((s) => s.ID)).toEqual([all.at(-1)?.ID, all.at(-2)?.ID]);
    expect(reversed.headers.get("x-nomad-nexttoken")).toBe(token(all.at(-3)));
  });

  it("under prefix: ID order, and the token is the ID (id_prefix, tokenizer WithID)", async () => {
    await start("1.9.6", withCount(nomadJob("many"), 17)); // 23 allocations: two share a first digit
    const all = await stubs("?namespace=*");
    const digit = [..."0123456789abcdef"].find((d) => all.filter((s) => s.ID.startsWith(d)).length >= 2);
    const ids = all
      .filter((s) => s.ID.startsWith(digit ?? ""))
      .map((s) => s.ID)
      .sort();
    const first = await list(`?namespace=*&prefix=${digit}&per_page=1`);
    expect((first.body as Stub[]).map((s) => s.ID)).toEqual([ids[0]]);
    expect(first.headers.get("x-nomad-nexttoken")).toBe(ids[1]);
    const rest = await stubs(`?namespace=*&prefix=${digit}&next_token=${ids[1]}`);
    expect(rest.map((s) => s.ID)).toEqual(ids.slice(1));
  });

  it("1.9.6 compares next_token as a string: after a two-digit CreateIndex a page starts over (nomad#25435)", async () => {
    await start("1.9.6");
    const all = await stubs("?namespace=*");
    const twoDigits = all.find((s) => s.CreateIndex >= 10);
    expect(all[0]?.CreateIndex).toBeLessThan(10);
    // "3.<id>" > "11.<id>" as strings: the walk finds its place at the very first allocation.
    const page = await stubs(`?namespace=*&per_page=2&next_token=${token(twoDigits)}`);
    expect(page.map((s) => s.ID)).toEqual(all.slice(0, 2).map((s) => s.ID));
  });

  it("2.0.3 (and 1.10.2 on) compares the CreateIndex as a number, then the ID (nomad#25792)", async () => {
    await start("2.0.3");
    const all = await stubs("?namespace=*");
    const at = all.findIndex((s) => s.CreateIndex >= 10);
    const page = await stubs(`?namespace=*&per_page=2&next_token=${token(all[at])}`);
    expect(page.map((s) => s.ID)).toEqual(all.slice(at, at + 2).map((s) => s.ID));
  });

  it("filter over the allocations; a filter it cannot read and a bad per_page are 400s", async () => {
    await start();
    const running = await stubs('?namespace=*&filter=ClientStatus == "running"');
    expect(running.map((s) => s.ID)).toEqual([nomad.allocations("default", "a")[0]?.ID]);
    const teamA = await stubs('?namespace=*&filter=Namespace == "team-a" and ClientStatus != "running"');
    expect(teamA).toHaveLength(2);
    const unreadable = await list("?filter=ClientStatus matches x");
    expect(unreadable.status).toBe(400);
    expect(unreadable.body).toMatch(/^failed to create result paginator: failed to read filter expression/);
    expect(await list("?per_page=x")).toMatchObject({
      status: 400,
      body: "Expect a number for `per_page` query string parameter",
    });
  });
});

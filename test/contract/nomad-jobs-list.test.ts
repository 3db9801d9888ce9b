// The Nomad double's GET /v1/jobs pages, checked against what Nomad's source says (v1.9.6):
// nomad/job_endpoint.go List (the jobs table's `id` index: namespace, then ID; one namespace's
// `id_prefix`; every namespace under a prefix: jobsByIDPrefixAllNamespaces), the tokenizer
// (StructsTokenizer WithNamespace, WithID: "<namespace>.<id>") and nomad/state/paginator (tokens
// compared as strings; filters after the token). On the double only: it needs namespaces that begin
// one another, and a real Nomad is not at hand.
import { afterEach, describe, expect, it } from "vitest";
import { NomadClient } from "../../src/clients/nomad/index.ts";
import { nomadJob } from "../doubles/nomad/fixtures.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";

interface Stub {
  ID: string;
  Namespace: string;
}

let nomad: NomadDouble;
let client: NomadClient;

/** Jobs x and y in `default` and in each of `namespaces`, registered in a shuffled order. */
async function start(namespaces: string[]): Promise<void> {
  nomad = await startNomadDouble({ namespaces });
  client = new NomadClient({ address: nomad.address, retries: 0 }, {});
  for (const id of ["y", "x"])
    for (const ns of [...namespaces].reverse()) await client.register(nomadJob(id, ns));
  for (const id of ["y", "x"]) await client.register(nomadJob(id));
}

afterEach(async () => {
  await client.close();
  await nomad.close();
});

async function list(query: string): Promise<{ status: number; body: unknown; next: string | null }> {
  const response = await fetch(`${nomad.address}/v1/jobs${query}`);
  const text = await response.text();
  const json = response.headers.get("content-type")?.includes("json");
  return {
    status: response.status,
    body: json ? JSON.parse(text) : text,
    next: response.headers.get("X-Nomad-NextToken"),
  };
}

const names = (stubs: unknown) => (stubs as Stub[]).map((s) => `${s.Namespace}.${s.ID}`);

/** Follows the pages of `query` (at most `limit`), as a client would. */
async function pages(query: string, limit = 10): Promise<string[][]> {
  const out: string[][] = [];
  let token = "";
  for (let n = 0; n < limit; n++) {
    const page = await list(`${query}${token ? `&next_token=${encodeURIComponent(token)}` : ""}`);
    out.push(names(page.body));
    if (!page.next) break;
    token = page.next;
  }
  return out;
}

describe("GET /v1/jobs pages on the Nomad double", () => {
  it("walks every namespace by namespace, then ID; tokens are <namespace>.<id>", async () => {
    await start(["team-a", "team-b"]);
    const all = names((await list("?namespace=*")).body);
    expect(all).toEqual(["default.x", "default.y", "team-a.x", "team-a.y", "team-b.x", "team-b.y"]);
    const first = await list("?namespace=*&per_page=2");
    expect(names(first.body)).toEqual(["default.x", "default.y"]);
    expect(first.next).toBe("team-a.x");
    expect((await pages("?namespace=*&per_page=2")).flat()).toEqual(all);
    expect(await pages("?namespace=team-b&per_page=1")).toEqual([["team-b.x"], ["team-b.y"]]);
  });

  it("starts over when a namespace begins another and sorts after it as a token (team, team-a)", async () => {
    await start(["team", "team-a"]);
    const all = names((await list("?namespace=*")).body);
    // The walk: "team" before "team-a". The tokens: "team-a.x" < "team.x" ("-" sorts before ".").
    expect(all).toEqual(["default.x", "default.y", "team.x", "team.y", "team-a.x", "team-a.y"]);
    const walked = await pages("?namespace=*&per_page=2", 4);
    expect(walked[0]).toEqual(["default.x", "default.y"]);
    expect(walked[1]).toEqual(["team.x", "team.y"]);
    // Seeking "team-a.x", the walk finds "team.x" above it before reaching team-a: served again.
    expect(walked[2]).toEqual(["team.x", "team.y"]);
    expect(walked.flat()).not.toContain("team-a.x");
    // One namespace at a time pages right.
    expect((await pages("?namespace=team-a&per_page=1")).flat()).toEqual(["team-a.x", "team-a.y"]);
  });

  it("filters after the token; reverse walks backwards; a prefix over every namespace keeps the index order", async () => {
    await start(["team-a"]);
    const filtered = await list('?namespace=*&per_page=1&filter=ID == "y"');
    expect(names(filtered.body)).toEqual(["default.y"]);
    expect(filtered.next).toBe("team-a.y");
    expect((await pages("?namespace=*&per_page=4&reverse=true")).flat()).toEqual([
      "team-a.y",
      "team-a.x",
      "default.y",
      "default.x",
    ]);
    expect(names((await list("?namespace=*&prefix=x&reverse=true")).body)).toEqual(["default.x", "team-a.x"]);
    expect(names((await list("?namespace=team-a&prefix=y")).body)).toEqual(["team-a.y"]);
  });
});

describe("NomadClient.listJobsAt over pages that start over", () => {
  it("lists every job once: a job served twice ends the pages, and one unpaged list follows", async () => {
    await start(["team", "team-a"]);
    const { jobs, index } = await client.listJobsAt({ perPage: 2 });
    expect(jobs.map((j) => `${j.Namespace}.${j.ID}`)).toEqual([
      "default.x",
      "default.y",
      "team.x",
      "team.y",
      "team-a.x",
      "team-a.y",
    ]);
    expect(index).toBeGreaterThan(0);
    const requests = nomad.requests
      .filter((r) => r.method === "GET" && r.route === "/v1/jobs")
      .map((r) => new URLSearchParams(r.query));
    expect(requests.map((q) => q.get("per_page"))).toEqual(["2", "2", "2", null]);
  });

  it("follows the pages when they do not start over", async () => {
    await start(["team-a", "team-b"]);
    const { jobs } = await client.listJobsAt({ perPage: 4 });
    expect(jobs).toHaveLength(6);
    const requests = nomad.requests
      .filter((r) => r.method === "GET" && r.route === "/v1/jobs")
      .map((r) => new URLSearchParams(r.query));
    expect(requests.map((q) => [q.get("per_page"), q.get("next_token")])).toEqual([
      ["4", null],
      ["4", "team-b.x"],
    ]);
  });
});

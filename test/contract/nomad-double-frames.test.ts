// The Nomad double writes each event stream line as JSON.stringify({ Index, Events }) of the events
// the stream accepts, from each event's JSON written once for every stream (event-buffer.ts): two
// streams with different filters get exactly the lines that serializing each frame gives.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NomadClient } from "../../src/clients/nomad/index.ts";
import type { NomadEvent } from "../../src/clients/nomad/types.ts";
import { topicFilter } from "../doubles/nomad/event-buffer.ts";
import { nomadJob } from "../doubles/nomad/fixtures.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";

let nomad: NomadDouble;
let client: NomadClient;

const job = (id: string, namespace: string) => nomadJob(id, namespace, { note: 'ünïcode ✓ "quoted"' });

beforeAll(async () => {
  nomad = await startNomadDouble({ namespaces: ["default", "team-a"] });
  client = new NomadClient({ address: nomad.address }, {});
  await client.register(job("a", "default"));
  await client.register(job("b", "team-a"));
  await client.deregister("a", "default", { purge: false });
});
afterAll(async () => {
  await client.close();
  await nomad.close();
});

/** The stream's lines (not the `{}` heartbeats) once it has sent the buffered frames. */
async function lines(query: string): Promise<string[]> {
  const controller = new AbortController();
  const out: string[] = [];
  const response = await fetch(`${nomad.address}/v1/event/stream?${query}`, { signal: controller.signal });
  let tail = "";
  const timer = setTimeout(() => controller.abort(), 1_000);
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      const parts = (tail + Buffer.from(chunk).toString()).split("\n");
      tail = parts.pop() ?? "";
      out.push(...parts.filter((l) => l !== "" && l !== "{}"));
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
  }
  return out;
}

describe("the Nomad double's event stream lines", () => {
  it.each([
    ["topic=Job:*&namespace=*", ["Job:*"], ["default", "team-a"]],
    ["topic=*&namespace=team-a", ["*"], ["team-a"]],
  ])("%s: each line is its frame, serialized", async (query, topics, namespaces) => {
    const accept = topicFilter(topics, namespaces);
    const expected = nomad.state.events
      .startAt(0)
      .map((f) => ({ Index: f.Index, Events: f.Events.filter((e: NomadEvent) => accept(e)) }))
      .filter((f) => f.Events.length > 0)
      .map((f) => JSON.stringify(f));
    expect(expected.length).toBeGreaterThan(1);
    expect(await lines(query)).toEqual(expected);
  });
});

describe("the Nomad double's events carry the state at their index", () => {
  it("an allocation's events, read after it ran and ended, say pending, running, complete in turn; the job's, its status then", async () => {
    const c = await client.register(job("c", "default"));
    expect(c.EvalID).toBeTruthy();
    const [alloc] = nomad.allocations("default", "c");
    if (!alloc) throw new Error("no allocation placed");
    nomad.lifecycle.running(alloc.ID);
    nomad.lifecycle.exit(alloc.ID, { exitCode: 0 });
    const events = (await lines("topic=Job:c&topic=Allocation:*&namespace=default")).flatMap(
      (l) => (JSON.parse(l) as { Events: NomadEvent[] }).Events,
    );
    const statuses = events
      .filter((e) => e.Topic === "Allocation" && e.Key === alloc.ID)
      .map((e) => (e.Payload as { Allocation: { ClientStatus: string } }).Allocation.ClientStatus);
    expect(statuses[0]).toBe("pending");
    expect(statuses).toContain("running");
    expect(statuses.at(-1)).toBe("complete");
    expect(statuses.indexOf("running")).toBeLessThan(statuses.lastIndexOf("complete"));
    const jobStatuses = events
      .filter((e) => e.Topic === "Job" && e.Key === "c")
      .map((e) => (e.Payload as { Job: { Status: string } }).Job.Status);
    expect(jobStatuses[0]).toBe("pending");
    expect(jobStatuses.at(-1)).toBe("dead");
    // What a reader of the buffered event objects gets is that JSON, parsed.
    const first = nomad.state.events
      .startAt(0)
      .flatMap((f) => f.Events)
      .find((e) => e.Topic === "Allocation" && e.Key === alloc.ID);
    if (!first) throw new Error("no buffered event of the allocation");
    expect((first.Payload as { Allocation: { ClientStatus: string } }).Allocation.ClientStatus).toBe(
      "pending",
    );
  });
});

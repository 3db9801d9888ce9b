// The Nomad double's request record: kept by default (tests read what a client sent), none for the
// standalone server (main.ts: no one can read its record, which grew by every request's body).
import { afterEach, describe, expect, it } from "vitest";
import { NomadClient } from "../../src/clients/nomad/index.ts";
import { nomadJob } from "../doubles/nomad/fixtures.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";

let nomad: NomadDouble | undefined;
let client: NomadClient | undefined;
afterEach(async () => {
  await client?.close();
  await nomad?.close();
});

async function registerAndRead(options: { recordRequests?: boolean }) {
  nomad = await startNomadDouble(options);
  client = new NomadClient({ address: nomad.address }, {});
  await client.register(nomadJob("mnist", "default"));
  return { job: await client.readJob("mnist", "default"), double: nomad };
}

describe("the Nomad double's request record", () => {
  it("keeps each request, a write with a copy of its body, by default", async () => {
    const { job, double } = await registerAndRead({});
    expect(job?.ID).toBe("mnist");
    const post = double.requests.find((r) => r.method === "POST" && r.route === "/v1/jobs");
    const sent = (post?.body as { Job?: { ID?: string } } | undefined)?.Job;
    expect(sent?.ID).toBe("mnist");
    // A copy: the job the double keeps (the parsed body) changes as Nomad's does, the record not.
    expect(sent).not.toBe(double.state.job("default", "mnist"));
    expect(double.requests.some((r) => r.method === "GET" && r.path === "/v1/job/mnist")).toBe(true);
  });

  it("keeps none with recordRequests false, and still counts the writes", async () => {
    const { job, double } = await registerAndRead({ recordRequests: false });
    expect(job?.ID).toBe("mnist");
    expect(double.requests).toEqual([]);
    expect(double.writes).toBe(1);
  });
});

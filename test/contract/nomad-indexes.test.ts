// Contract: the indexes a job carries through register, re-register, stop and its allocations' moves,
// as Nomad 1.9.6 writes them (nomad/job_endpoint.go Register and Deregister: the reply's indexes;
// nomad/fsm.go handleJobDeregister; nomad/state/state_store.go upsertJobImpl: CreateIndex,
// ModifyIndex, JobModifyIndex and Version; setJobStatus: a status change writes ModifyIndex only).
// Register and stop run against the double and, when one is given (NOMAD_ADDR), a real Nomad; the
// allocation moves need the double's lifecycle.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NomadClient } from "../../src/clients/nomad/index.ts";
import type { NomadJob } from "../../src/clients/nomad/types.ts";
import { nomadJob } from "../doubles/nomad/fixtures.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { describeReal } from "./real-servers.ts";

interface Target {
  address: string;
  token?: string;
  double?: NomadDouble;
  close(): Promise<void>;
}

interface JobEvent {
  Type: string;
  Payload: { Job: NomadJob };
}

const suffix = randomUUID().slice(0, 8);
const job = (id: string, meta: Record<string, string> = {}) =>
  nomadJob(
    id,
    "default",
    { contract: "mlops-operator", ...meta },
    { image: "busybox:1.36", command: "true" },
  );

function indexes(target: () => Target) {
  let client: NomadClient;
  const created: string[] = [];

  beforeAll(() => {
    const { address, token } = target();
    client = new NomadClient({ address, ...(token ? { token } : {}) }, {});
  });
  afterAll(async () => {
    for (const id of created) await client.deregister(id, "default", { purge: true }).catch(() => undefined);
    await client.close();
  });

  /** POST /v1/jobs as it answers: the body and X-Nomad-Index. */
  async function register(submitted: NomadJob) {
    created.push(submitted.ID);
    const { address, token } = target();
    const response = await fetch(`${address}/v1/jobs`, {
      method: "POST",
      headers: token ? { "X-Nomad-Token": token } : {},
      body: JSON.stringify({ Job: submitted }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      JobModifyIndex: number;
      EvalCreateIndex: number;
      Index: number;
    };
    return { ...body, header: Number(response.headers.get("x-nomad-index")) };
  }

  it("a new job: CreateIndex = JobModifyIndex = ModifyIndex = the answer's JobModifyIndex, its Index and eval's", async () => {
    const id = `idx-new-${suffix}`;
    const answer = await register(job(id));
    const read = await client.readJob(id, "default");
    expect(read).toMatchObject({
      CreateIndex: answer.JobModifyIndex,
      JobModifyIndex: answer.JobModifyIndex,
      Version: 0,
    });
    // One raft entry holds the job and its evaluation (Register: reply.EvalCreateIndex = reply.Index = index).
    expect(answer).toMatchObject({ EvalCreateIndex: answer.JobModifyIndex, Index: answer.JobModifyIndex });
    expect(answer.header).toBe(answer.JobModifyIndex);
  });

  it("a changed job: a new JobModifyIndex and Version, the same CreateIndex; unchanged: nothing moves", async () => {
    const id = `idx-change-${suffix}`;
    const first = await register(job(id));
    const second = await register(job(id, { run: "2" }));
    expect(second.JobModifyIndex).toBeGreaterThan(first.JobModifyIndex);
    expect(await client.readJob(id, "default")).toMatchObject({
      CreateIndex: first.JobModifyIndex,
      JobModifyIndex: second.JobModifyIndex,
      Version: 1,
    });
    const same = await register(job(id, { run: "2" }));
    // Not a job write: the reply keeps the job's JobModifyIndex; the evaluation is a write of its own.
    expect(same.JobModifyIndex).toBe(second.JobModifyIndex);
    expect(same.EvalCreateIndex).toBeGreaterThan(second.JobModifyIndex);
    expect(same.Index).toBe(same.EvalCreateIndex);
    expect((await client.readJob(id, "default"))?.Version).toBe(1);
  });

  it("the same job with its fields in another order is unchanged; the same job after a stop is a change", async () => {
    const id = `idx-order-${suffix}`;
    const first = await register(job(id));
    const reversed = Object.fromEntries(Object.entries(job(id)).reverse()) as unknown as NomadJob;
    expect(Object.keys(reversed)[0]).not.toBe(Object.keys(job(id))[0]);
    const same = await register(reversed);
    expect(same.JobModifyIndex).toBe(first.JobModifyIndex);
    expect((await client.readJob(id, "default"))?.Version).toBe(0);
    await client.deregister(id, "default", { purge: false });
    const again = await register(job(id));
    expect(again.JobModifyIndex).toBeGreaterThan(first.JobModifyIndex);
    expect(await client.readJob(id, "default")).toMatchObject({ Stop: false, Version: 2 });
  });

  it("a stop: JobModifyIndex = ModifyIndex = the deregister's index, Version + 1; its event carries them", async () => {
    const id = `idx-stop-${suffix}`;
    const registered = await register(job(id));
    const stopped = await client.deregister(id, "default", { purge: false });
    expect(stopped.JobModifyIndex).toBeGreaterThan(registered.JobModifyIndex);
    expect(stopped).toMatchObject({ EvalCreateIndex: stopped.JobModifyIndex, Index: stopped.JobModifyIndex });
    expect(await client.readJob(id, "default")).toMatchObject({
      Stop: true,
      CreateIndex: registered.JobModifyIndex,
      JobModifyIndex: stopped.JobModifyIndex,
      Version: 1,
    });
    const events = await jobEventsAt(target(), id, stopped.JobModifyIndex);
    const [event] = events.filter((e) => e.Type === "JobDeregistered");
    expect(event?.Payload.Job).toMatchObject({
      Stop: true,
      ModifyIndex: stopped.JobModifyIndex,
      JobModifyIndex: stopped.JobModifyIndex,
      Version: 1,
    });
  });
}

describe("Nomad job indexes", () => {
  describe("the Nomad double", () => {
    let double: NomadDouble;
    beforeAll(async () => {
      double = await startNomadDouble();
    });
    afterAll(async () => {
      await double.close();
    });
    indexes(() => ({ address: double.address, double, close: async () => {} }));

    it("an allocation's moves change the job's status and ModifyIndex, never its JobModifyIndex", async () => {
      const client = new NomadClient({ address: double.address }, {});
      const id = `idx-alloc-${suffix}`;
      const registered = await client.register(job(id));
      const alloc = double.allocations("default", id)[0]?.ID ?? "";
      const target = { address: double.address, close: async () => {} };
      // getJobStatus: running while an allocation is not terminal, so from the plan that placed it
      // (its write's type, PlanResult), before any task runs; the client's "running" changes nothing.
      const placed = await client.readJob(id, "default");
      expect(placed).toMatchObject({ Status: "running", JobModifyIndex: registered.JobModifyIndex });
      expect(placed?.ModifyIndex).toBeGreaterThan(registered.JobModifyIndex);
      const planned = await jobEventsAt(target, id, placed?.ModifyIndex ?? 0);
      expect(planned.map((e) => [e.Type, e.Payload.Job?.Status])).toEqual([["PlanResult", "running"]]);
      double.lifecycle.running(alloc);
      expect((await client.readJob(id, "default"))?.ModifyIndex).toBe(placed?.ModifyIndex);
      // Its end: the job written dead at the client update's index, its event of that write's type.
      double.lifecycle.exit(alloc, { exitCode: 0 });
      const ended = await client.readJob(id, "default");
      const index = double.state.tableIndex("allocs");
      expect(ended).toMatchObject({
        Status: "dead",
        ModifyIndex: index,
        JobModifyIndex: registered.JobModifyIndex,
      });
      const events = await jobEventsAt(target, id, index);
      expect(events.map((e) => [e.Type, e.Payload.Job?.Status])).toEqual([["AllocationUpdated", "dead"]]);
      await client.close();
    });
  });

  describeReal("nomad", "Nomad job indexes", (address) =>
    indexes(() => ({
      address,
      ...(process.env.NOMAD_TOKEN ? { token: process.env.NOMAD_TOKEN } : {}),
      close: async () => {},
    })),
  );
});

/** The Job events of the event-stream frame at `index` (none when the stream skips past it). */
async function jobEventsAt(target: Target, id: string, index: number): Promise<JobEvent[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 3_000);
  try {
    const response = await fetch(`${target.address}/v1/event/stream?topic=Job:${id}&index=${index}`, {
      signal: controller.signal,
      headers: target.token ? { "X-Nomad-Token": target.token } : {},
    });
    let text = "";
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      text += Buffer.from(chunk).toString();
      for (const line of text.split("\n").slice(0, -1)) {
        const frame = JSON.parse(line) as { Index?: number; Events?: JobEvent[] };
        if (frame.Index !== undefined) return frame.Index === index ? (frame.Events ?? []) : [];
      }
    }
    return [];
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

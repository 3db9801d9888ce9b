// Contract: Nomad Variables as the client uses them (PUT with and without check-and-set, GET, DELETE)
// against the Nomad double, with bodies checked against the vendor spec's Variable schema. The
// behaviour follows Nomad v1.9.6: command/agent/variable_endpoint.go (status codes, 409 with the
// conflicting variable as the body, 204 on delete, 404 "variable not found"),
// nomad/state/state_store_variables.go (cas=0: must not exist; a cas index on a missing variable
// conflicts with a zero-valued one; deleting a missing variable succeeds).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NomadClient } from "../../src/clients/nomad/index.ts";
import { renderJob } from "../../src/scheduler/nomad/index.ts";
import { runRequest } from "../doubles/nomad/fixtures.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { describeWithSpecs, NOMAD_SPEC, schemaValidator } from "./vendor-specs.ts";

describe("Nomad Variables (client against the double)", () => {
  let nomad: NomadDouble;
  let client: NomadClient;
  beforeAll(async () => {
    nomad = await startNomadDouble({ namespaces: ["team-a"] });
    client = new NomadClient({ address: nomad.address }, {});
  });
  afterAll(async () => {
    await client.close();
    await nomad.close();
  });

  it("PUT writes items and answers the variable; GET reads it back; each write moves ModifyIndex", async () => {
    const first = await client.putVariable("nomad/jobs/a", "team-a", { TOKEN: "one" });
    expect(first.variable).toMatchObject({
      Namespace: "team-a",
      Path: "nomad/jobs/a",
      Items: { TOKEN: "one" },
    });
    const second = await client.putVariable("nomad/jobs/a", "team-a", { TOKEN: "two" });
    expect(second.variable?.ModifyIndex).toBeGreaterThan(first.variable?.ModifyIndex ?? 0);
    expect(second.variable?.CreateIndex).toBe(first.variable?.CreateIndex);
    expect((await client.readVariable("nomad/jobs/a", "team-a"))?.Items).toEqual({ TOKEN: "two" });
    expect(await client.readVariable("nomad/jobs/a", "default")).toBeUndefined();
  });

  it("check-and-set: 0 creates only; a stale index conflicts with the current variable", async () => {
    const created = await client.putVariable("nomad/jobs/cas", "team-a", { A: "1" }, { cas: 0 });
    expect(created.variable?.Items).toEqual({ A: "1" });
    const again = await client.putVariable("nomad/jobs/cas", "team-a", { A: "2" }, { cas: 0 });
    expect(again.conflict?.Items).toEqual({ A: "1" });
    const index = created.variable?.ModifyIndex ?? 0;
    const ok = await client.putVariable("nomad/jobs/cas", "team-a", { A: "3" }, { cas: index });
    expect(ok.variable?.Items).toEqual({ A: "3" });
    const stale = await client.putVariable("nomad/jobs/cas", "team-a", { A: "4" }, { cas: index });
    expect(stale.conflict).toMatchObject({ Items: { A: "3" }, ModifyIndex: ok.variable?.ModifyIndex });
    const missing = await client.putVariable("nomad/jobs/none", "team-a", { A: "1" }, { cas: 7 });
    expect(missing.conflict).toMatchObject({ Path: "nomad/jobs/none", ModifyIndex: 0 });
    expect(await client.readVariable("nomad/jobs/none", "team-a")).toBeUndefined();
  });

  it("DELETE removes it (204); deleting a missing variable succeeds too", async () => {
    await client.putVariable("nomad/jobs/del", "team-a", { A: "1" });
    await client.deleteVariable("nomad/jobs/del", "team-a");
    expect(await client.readVariable("nomad/jobs/del", "team-a")).toBeUndefined();
    await client.deleteVariable("nomad/jobs/del", "team-a");
    const last = nomad.requests.at(-1);
    expect(last).toMatchObject({ method: "DELETE", route: "/v1/var/:path" });
  });

  it("refuses a write without items (400) and an invalid path (500, ValidatePath)", async () => {
    const empty = await fetch(`${nomad.address}/v1/var/nomad/jobs/x`, {
      method: "PUT",
      body: '{"Items":{}}',
    });
    expect([empty.status, await empty.text()]).toEqual([400, "variable missing required Items object"]);
    const bad = await fetch(`${nomad.address}/v1/var/a%20b`, { method: "PUT", body: '{"Items":{"A":"1"}}' });
    expect([bad.status, await bad.text()]).toEqual([500, 'invalid path "a b"']);
  });
});

describeWithSpecs("Nomad Variables: bodies per the vendor spec", () => {
  it("the variable the double answers matches the spec's Variable schema", async () => {
    const nomad = await startNomadDouble();
    const client = new NomadClient({ address: nomad.address }, {});
    try {
      const { variable } = await client.putVariable("nomad/jobs/spec", "default", { K: "v" });
      schemaValidator(NOMAD_SPEC, "Variable").assert(variable, "PUT /v1/var answer");
      schemaValidator(NOMAD_SPEC, "Variable").assert(await client.readVariable("nomad/jobs/spec", "default"));
    } finally {
      await client.close();
      await nomad.close();
    }
  });

  it("the job that reads the Variable (a task template) is a valid Job per the spec", () => {
    const job = renderJob(
      runRequest(
        { env: [{ name: "TOKEN", valueFrom: { file: { path: "t" } } }] },
        { secrets: { TOKEN: "v" } },
      ),
    );
    schemaValidator(NOMAD_SPEC, "Job", {
      nullable: true,
      exceptions: { Job: { NodePool: { type: "string" } } },
    }).assert(job, "rendered job with a template");
    expect(job.TaskGroups[0]?.Tasks[0]?.Templates?.[0]).toMatchObject({ Envvars: true, ChangeMode: "noop" });
  });
});

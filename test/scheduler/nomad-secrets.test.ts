import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NomadClient } from "../../src/clients/nomad/index.ts";
import { NomadScheduler, renderJob } from "../../src/scheduler/nomad/index.ts";
import { runRequest } from "../doubles/nomad/fixtures.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";

const VALUE = 'tok-9f3b "quoted"\nsecond line';
const env = [
  { name: "PLAIN", value: "plain-value" },
  { name: "DATASET_TOKEN", valueFrom: { file: { path: "dataset" } } },
];

describe("Nomad: referenced values reach the run through a Nomad Variable", () => {
  let nomad: NomadDouble;
  let client: NomadClient;
  let scheduler: NomadScheduler;
  beforeEach(async () => {
    nomad = await startNomadDouble({ namespaces: ["team-a"] });
    client = new NomadClient({ address: nomad.address }, {});
    scheduler = new NomadScheduler({ client, ownerId: "owner-1" });
  });
  afterEach(async () => {
    await scheduler.close();
    await client.close();
    await nomad.close();
  });

  it("renders a template reading nomad/jobs/<id> into the environment, and no value", () => {
    const job = renderJob(runRequest({ env }, { secrets: { DATASET_TOKEN: VALUE } }));
    const task = job.TaskGroups[0]?.Tasks[0];
    expect(task?.Env).toMatchObject({ PLAIN: "plain-value" });
    expect(task?.Env).not.toHaveProperty("DATASET_TOKEN");
    expect(task?.Templates).toEqual([
      {
        EmbeddedTmpl:
          '{{ with nomadVar "nomad/jobs/resnet" }}DATASET_TOKEN={{ .DATASET_TOKEN | toJSON }}\n{{ end }}',
        DestPath: "secrets/mlops-env.env",
        Envvars: true,
        ChangeMode: "noop",
      },
    ]);
    expect(JSON.stringify(job)).not.toContain("tok-9f3b");
  });

  it("submit writes the Variable in the job's namespace before the job; purge removes both", async () => {
    await scheduler.submit(runRequest({ env }, { secrets: { DATASET_TOKEN: VALUE } }));
    const writes = nomad.requests.filter((r) => r.method !== "GET").map((r) => `${r.method} ${r.route}`);
    expect(writes).toEqual(["PUT /v1/var/:path", "POST /v1/jobs"]);
    expect(nomad.state.variables.get("team-a", "nomad/jobs/resnet")?.Items).toEqual({ DATASET_TOKEN: VALUE });
    const stored = nomad.state.job("team-a", "resnet");
    expect(stored?.TaskGroups[0]?.Tasks[0]?.Templates).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain("tok-9f3b");
    const job = nomad.requests.find((r) => r.route === "/v1/jobs");
    expect(JSON.stringify(job?.body)).not.toContain("tok-9f3b");

    await scheduler.purge(runRequest().key);
    expect(nomad.state.job("team-a", "resnet")).toBeUndefined();
    expect(nomad.state.variables.get("team-a", "nomad/jobs/resnet")).toBeUndefined();
  });

  it("a job without references writes no Variable and purges without touching Variables", async () => {
    await scheduler.submit(runRequest({ env: [{ name: "PLAIN", value: "p" }] }));
    await scheduler.purge(runRequest().key);
    expect(nomad.requests.filter((r) => r.route === "/v1/var/:path")).toEqual([]);
  });
});

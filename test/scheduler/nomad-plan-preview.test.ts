// `mlopsctl plan`'s placement preview on Nomad: the job is rendered as submit would register it
// against the live job (the live run's mlops_run_version, max_run_duration where the server has it),
// so an in-place change reads as in place, as Nomad's tasksUpdated (scheduler/util.go) decides.
import { afterEach, describe, expect, it } from "vitest";
import { NomadClient } from "../../src/clients/nomad/index.ts";
import { NomadScheduler } from "../../src/scheduler/nomad/index.ts";
import { runRequest } from "../doubles/nomad/fixtures.ts";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";

describe("NomadScheduler.placement on a live job", () => {
  let nomad: NomadDouble;
  let scheduler: NomadScheduler;
  afterEach(async () => {
    await scheduler.close();
    await nomad.close();
  });

  async function start(version: string) {
    nomad = await startNomadDouble({ namespaces: ["team-a"], version });
    scheduler = new NomadScheduler({
      client: new NomadClient({ address: nomad.address }, {}),
      ownerId: "owner-1",
      ownsClient: true,
    });
  }

  /** A second run on the same job: its mlops_run_version is 1, not the 0 a bare render writes. */
  async function secondRun(spec: Parameters<typeof runRequest>[0] = {}) {
    await scheduler.submit(runRequest({ replicas: 2, ...spec }, { runId: "run-1" }));
    await scheduler.submit(
      runRequest({ replicas: 2, ...spec }, { runId: "run-2", runSpecHash: "runspec-2" }),
    );
    expect(nomad.state.job("team-a", "resnet")?.Meta?.mlops_run_version).toBe("1");
  }

  it("an in-place change of the live run (priority) reads as updated in place, not replaced", async () => {
    await start("1.9.6");
    await secondRun();
    const writes = nomad.writes;
    const preview = await scheduler.placement(
      runRequest(
        { replicas: 2, priority: 80 },
        { runId: "run-2", runSpecHash: "runspec-2", specHash: "spec-2" },
      ),
    );
    expect(preview).toBe("placed 0 of 2, 2 updated in place");
    expect(nomad.writes).toBe(writes);
  });

  it("the same run unchanged reads as no change", async () => {
    await start("1.9.6");
    await secondRun();
    expect(
      await scheduler.placement(runRequest({ replicas: 2 }, { runId: "run-2", runSpecHash: "runspec-2" })),
    ).toMatch(/^no change/);
  });

  it("a new run (new image) replaces the allocations", async () => {
    await start("1.9.6");
    await secondRun();
    const preview = await scheduler.placement(
      runRequest({ replicas: 2, image: "trainer:2" }, { runId: "run-3", runSpecHash: "runspec-3" }),
    );
    expect(preview).toBe("placed 2 of 2, 2 replaced");
  });

  it("on Nomad 2.0.3 the preview renders max_run_duration like submit, and a deadline change is in place", async () => {
    await start("2.0.3");
    await secondRun({ activeDeadlineSeconds: 600 });
    expect(nomad.state.job("team-a", "resnet")?.TaskGroups[0]?.MaxRunDuration).toBe(600 * 1e9);
    const unchanged = await scheduler.placement(
      runRequest({ replicas: 2, activeDeadlineSeconds: 600 }, { runId: "run-2", runSpecHash: "runspec-2" }),
    );
    expect(unchanged).toMatch(/^no change/);
    const longer = await scheduler.placement(
      runRequest(
        { replicas: 2, activeDeadlineSeconds: 1200 },
        { runId: "run-2", runSpecHash: "runspec-2", specHash: "spec-2" },
      ),
    );
    expect(longer).toBe("placed 0 of 2, 2 updated in place");
  });
});

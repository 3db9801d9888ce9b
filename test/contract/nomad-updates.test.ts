// Contract: the Nomad double's in-place vs destructive decision follows `tasksUpdated` in Nomad's
// scheduler/util.go (v1.9.6 and v2.0.3): the fields it compares replace allocations, the rest
// (restart and reschedule policies, non-Connect services, constraints, priority, and from 2.0.3
// max_run_duration, updated in place by genericAllocUpdateFn) keep them.
import { describe, expect, it } from "vitest";
import type { NomadJob } from "../../src/clients/nomad/types.ts";
import { renderJob } from "../../src/scheduler/nomad/index.ts";
import { runRequest } from "../doubles/nomad/fixtures.ts";
import { groupUpdated, startNomadDouble } from "../doubles/nomad/index.ts";

const base = (): NomadJob =>
  renderJob(runRequest({ metrics: { port: 9100, path: "/metrics" } }), { maxRunDuration: true });

const group = (job: NomadJob) => job.TaskGroups[0] as NomadJob["TaskGroups"][number];
const task = (job: NomadJob) => group(job).Tasks[0] as NomadJob["TaskGroups"][number]["Tasks"][number];

/** Sets `value` at `path` (keys and array indexes) in a job. */
function set(job: NomadJob, path: readonly (string | number)[], value: unknown): void {
  let at = job as unknown as Record<string | number, unknown>;
  for (const step of path.slice(0, -1)) at = at[step] as Record<string | number, unknown>;
  at[path.at(-1) as string | number] = value;
}

const G = ["TaskGroups", 0] as const;
const T = [...G, "Tasks", 0] as const;
const affinity = [{ LTarget: "a", RTarget: "b", Operand: "=", Weight: 50 }];

const CASES: readonly [string, readonly (string | number)[], unknown, boolean, string?][] = [
  ["priority", ["Priority"], 90, false],
  ["job constraints", ["Constraints"], [{ LTarget: "x", RTarget: "y", Operand: "!=" }], false],
  ["group constraints", [...G, "Constraints"], [{ LTarget: "a", RTarget: "b", Operand: "=" }], false],
  ["restart policy", [...G, "RestartPolicy", "Attempts"], 9, false],
  ["reschedule policy", [...G, "ReschedulePolicy", "Attempts"], 2, false],
  ["a non-Connect service's tags", [...T, "Services", 0, "Tags"], ["other"], false],
  ["count", [...G, "Count"], 4, false],
  ["max_run_duration (2.0.3)", [...G, "MaxRunDuration"], 7, false, "2.0.3"],
  ["job meta (combined task meta)", ["Meta", "mlops_run_version"], "7", true],
  ["group meta", [...G, "Meta"], { a: "b" }, true],
  ["task config", [...T, "Config", "image"], "other:1", true],
  ["task env", [...T, "Env", "X"], "1", true],
  ["task cpu", [...T, "Resources", "CPU"], 999, true],
  ["task devices", [...T, "Resources", "Devices"], [{ Name: "nvidia/gpu", Count: 1 }], true],
  ["group volumes", [...G, "Volumes"], { d: { Name: "d", Type: "host", Source: "d", ReadOnly: true } }, true],
  ["group network", [...G, "Networks"], null, true],
  ["a Connect service", [...G, "Services"], [{ Name: "s", Connect: { Native: true } }], true],
  ["job affinities (1.9.6)", ["Affinities"], affinity, true, "1.9.6"],
  ["job affinities (2.0.3 no longer compares them here)", ["Affinities"], affinity, false, "2.0.3"],
];

describe("Nomad double: tasksUpdated (scheduler/util.go)", () => {
  it("an unchanged job is not destructive", () => {
    expect(groupUpdated(base(), base(), "train")).toBe(false);
  });

  it.each(CASES)("a change of %s (destructive: %s)", (_name, path, value, destructive, version) => {
    const before = base();
    const after = structuredClone(before);
    set(after, path, value);
    expect(groupUpdated(before, after, "train", version)).toBe(destructive);
  });

  it("nil and empty maps compare equal, as Go's maps.Equal does", () => {
    const before = base();
    const after = structuredClone(before);
    task(before).Env = {};
    set(after, [...T, "Env"], null);
    expect(groupUpdated(before, after, "train")).toBe(false);
  });

  it("plan (nomad/job_endpoint.go Plan → the scheduler's annotations): in-place and destructive per group", async () => {
    const nomad = await startNomadDouble();
    try {
      const job = { ...base(), Namespace: "default" };
      set(job, [...G, "Count"], 2);
      nomad.state.register(structuredClone(job));
      const plan = async (edited: NomadJob) => {
        const response = await fetch(`${nomad.address}/v1/job/${job.ID}/plan`, {
          method: "POST",
          body: JSON.stringify({ Job: edited, Diff: true }),
        });
        return ((await response.json()) as { Annotations: { DesiredTGUpdates: Record<string, unknown> } })
          .Annotations.DesiredTGUpdates.train;
      };
      const policy = structuredClone(job);
      set(policy, [...G, "ReschedulePolicy", "Attempts"], 5);
      expect(await plan(policy)).toMatchObject({ InPlaceUpdate: 2, DestructiveUpdate: 0, Place: 0 });
      const image = structuredClone(job);
      set(image, [...T, "Config", "image"], "other:3");
      expect(await plan(image)).toMatchObject({ InPlaceUpdate: 0, DestructiveUpdate: 2, Place: 0 });
      const more = structuredClone(policy);
      set(more, [...G, "Count"], 3);
      expect(await plan(more)).toMatchObject({ InPlaceUpdate: 2, Place: 1, Stop: 0 });
      expect(nomad.writes).toBe(0);
    } finally {
      await nomad.close();
    }
  });

  it("registering a restart-policy change keeps the live allocations (in place); a config change replaces them", async () => {
    const nomad = await startNomadDouble();
    try {
      const job = { ...base(), Namespace: "default" };
      nomad.state.register(structuredClone(job));
      const [first] = nomad.allocations("default", job.ID);
      const policy = structuredClone(job);
      set(policy, [...G, "RestartPolicy", "Attempts"], 9);
      nomad.state.register(policy);
      expect(nomad.allocations("default", job.ID).map((a) => [a.ID, a.DesiredStatus, a.JobVersion])).toEqual([
        [first?.ID, "run", 1],
      ]);
      const image = structuredClone(policy);
      set(image, [...T, "Config", "image"], "other:2");
      nomad.state.register(image);
      const allocs = nomad.allocations("default", job.ID);
      expect(allocs.map((a) => a.DesiredStatus)).toEqual(["stop", "run"]);
    } finally {
      await nomad.close();
    }
  });
});

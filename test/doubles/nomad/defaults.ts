// Server: Nomad 1.9.6 (and 2.0.3 where noted), hashicorp/nomad. Follows: nomad/structs/structs.go
// (Job.Canonicalize), nomad/job_endpoint.go (Register).
// What a Nomad server fills in on a registered job (so that reads differ from what was sent, as on a
// real server, and a client that diffs raw JSON would update forever).
import type { NomadJob } from "../../../src/clients/nomad/types.ts";

const SECOND = 1_000_000_000;

export function withServerDefaults(
  job: NomadJob,
  at: { version: number; createIndex: number; index: number },
): NomadJob {
  const out = job as NomadJob & Record<string, unknown>;
  out.Name ||= job.ID;
  out.Region ??= "global";
  out.Priority ||= 50;
  out.Datacenters = job.Datacenters?.length ? job.Datacenters : ["*"];
  out.NodePool ||= "default";
  out.AllAtOnce ??= false;
  out.Stop ??= false;
  out.Stable = false;
  out.Status = "pending";
  out.StatusDescription = "";
  out.Version = at.version;
  out.CreateIndex = at.createIndex;
  out.ModifyIndex = at.index;
  out.JobModifyIndex = at.index;
  out.SubmitTime = Date.now() * 1_000_000;
  out.Meta ??= null;
  out.Constraints ??= null;
  for (const group of job.TaskGroups ?? []) {
    const g = group as typeof group & Record<string, unknown>;
    g.RestartPolicy ??= { Attempts: 3, Interval: 24 * 3600 * SECOND, Delay: 15 * SECOND, Mode: "fail" };
    g.ReschedulePolicy ??= {
      Attempts: 1,
      Interval: 24 * 3600 * SECOND,
      Delay: 5 * SECOND,
      DelayFunction: "constant",
      MaxDelay: 0,
      Unlimited: false,
    };
    g.EphemeralDisk ??= { Migrate: false, SizeMB: 300, Sticky: false };
    g.Constraints ??= null;
    g.Services ??= null;
    g.Networks ??= null;
    for (const task of group.Tasks ?? []) {
      const t = task as typeof task & Record<string, unknown>;
      t.KillTimeout ??= 5 * SECOND;
      t.LogConfig ??= { MaxFiles: 10, MaxFileSizeMB: 10 };
      t.Env ??= null;
      t.Meta ??= null;
      t.Services ??= null;
    }
  }
  return out;
}

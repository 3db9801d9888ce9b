// What the operator writes on a Nomad job to know it again. Meta keys use underscores: they become
// task environment variables (NOMAD_META_<key>) and go-bexpr selectors (Meta.<key>), where dots,
// slashes and dashes need quoting or are rewritten.
//
// Meta carries the run's identity only, fixed for the run's life. Nomad treats any Meta change as a
// destructive update (nomad#3100: combined task meta is part of the task environment), so values that
// change within a run (the whole-spec hash of in-place fields such as priority) must not live there:
// the whole-spec hash is carried by a tautological job constraint instead (SPEC_HASH_TARGET), which
// Nomad updates in place.
import { liveKeys } from "../../api/keys.ts";
import { Recent } from "../../api/recent.ts";
import type { NomadConstraint, NomadJob } from "../../clients/nomad/types.ts";

export { MANAGED_BY } from "../../api/names.ts";

export const META = {
  managedBy: "mlops_managed_by",
  ownerId: "mlops_owner_id",
  key: "mlops_key",
  generation: "mlops_generation",
  runId: "mlops_run_id",
  runSpecHash: "mlops_run_spec_hash",
  /** The run's attempt (1, 2, …): a new attempt is a new job version, hence new allocations. */
  attempt: "mlops_attempt",
  /** The job Version at which this run was registered: older allocations belong to earlier runs. */
  runVersion: "mlops_run_version",
} as const;

/** LTarget of the constraint that carries the whole-spec hash (literal: always satisfied). */
export const SPEC_HASH_TARGET = "mlops_spec_hash";

export function specHashConstraint(hash: string): NomadConstraint {
  return { LTarget: SPEC_HASH_TARGET, RTarget: hash, Operand: "!=" };
}

/** The whole-spec hash a job carries: its constraint's value, or a compact job's SpecHash (compact.ts). */
export function specHashOf(
  job: Pick<NomadJob, "Constraints"> & { readonly SpecHash?: string },
): string | undefined {
  return job.SpecHash ?? (job.Constraints ?? []).find((c) => c.LTarget === SPEC_HASH_TARGET)?.RTarget;
}

/**
 * `namespace/jobId`, the key of a Nomad job in the scheduler's maps: one flat string (`join`; a
 * template makes a rope, kept with its parts in each map), and the same string as the last
 * 1,024 made: a register's own writes, the change feed's owned jobs and the read cache each
 * keep a job under its `where`, made from the register, then from each event of the job that follows
 * within milliseconds; a map keeps the string it was first given, so each held its own copy (32 bytes
 * a job in two of the three; docs/benchmarks.md, round 31).
 */
export function jobWhere(namespace: string, id: string): string {
  const where = [namespace, id].join("/");
  return recentWheres.get(where) ?? recentWheres.remember(where, where);
}

const recentWheres = new Recent<string, string>(1_024);

/** go-bexpr filter selecting this operator's jobs on GET /v1/jobs. */
export function ownerFilter(ownerId: string): string {
  return `Meta["${META.ownerId}"] == "${ownerId.replace(/["\\]/g, "")}"`;
}

/**
 * What a run's status keeps of its job (ObservedRun.version): `create:jobModify:count:specHash`.
 * Nomad changes a job's JobModifyIndex at every change of its spec (a register that changes it, a
 * stop) and never reuses an index, so a listed stub with both indexes equal is the job this version
 * was taken of: its replica count and spec hash are these, which the stub does not carry.
 */
export interface JobVersion {
  readonly createIndex: number;
  readonly jobModifyIndex: number;
  readonly count: number;
  readonly specHash: string;
}

export function formatJobVersion(v: JobVersion): string {
  return [v.createIndex, v.jobModifyIndex, v.count, v.specHash].join(":");
}

/** The replicas a job asks for: the count of its task groups. */
export function replicaCount(job: Pick<NomadJob, "TaskGroups">): number {
  return job.TaskGroups.reduce((n, g) => n + g.Count, 0);
}

/** The version of a whole job (read, or from an event); undefined without indexes or spec hash. */
export function jobVersionOf(job: NomadJob): string | undefined {
  const specHash = specHashOf(job);
  if (!job.CreateIndex || !job.JobModifyIndex || specHash === undefined) return undefined;
  return formatJobVersion({
    createIndex: job.CreateIndex,
    jobModifyIndex: job.JobModifyIndex,
    count: replicaCount(job),
    specHash,
  });
}

/** A recorded version, or undefined for anything else (absent, another scheduler's, edited). */
export function parseJobVersion(text: string | undefined): JobVersion | undefined {
  const match = text === undefined ? null : /^(\d+):(\d+):(\d+):(\S+)$/.exec(text);
  if (!match) return undefined;
  const [createIndex, jobModifyIndex, count] = [match[1], match[2], match[3]].map(Number) as [
    number,
    number,
    number,
  ];
  return { createIndex, jobModifyIndex, count, specHash: match[4] as string };
}

/** The resource key a job's Meta names, as the string every map of that resource holds (keys.ts). */
export function metaKey(meta: Record<string, string> | null | undefined): string | undefined {
  const key = meta?.[META.key];
  return key === undefined ? undefined : liveKeys.canonical(key);
}

/** `job`, with its Meta's resource key the string every map of the resource holds: not one more copy. */
export function withSharedKey(job: NomadJob): NomadJob {
  const key = metaKey(job.Meta);
  if (key !== undefined && job.Meta) job.Meta[META.key] = key;
  return job;
}

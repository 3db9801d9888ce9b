// In-place or destructive: what Nomad's scheduler decides for the live allocations of a task group
// when a job is registered again. Follows `tasksUpdated` in scheduler/util.go (v1.9.6 and v2.0.3):
// only the fields it compares replace allocations; everything else (restart and reschedule policies,
// non-Connect services, group and job constraints, priority, count, and from 2.0.3 max_run_duration,
// handled by genericAllocUpdateFn as an in-place update) updates them in place. Node built-ins only.
import type { NomadJob, NomadTask, NomadTaskGroup } from "../../../src/clients/nomad/types.ts";
import { canonical } from "./wire.ts";

type Loose = Record<string, unknown>;

/** Go compares nil and empty maps and slices as equal (maps.Equal, slices.EqualFunc). */
function normal(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return value.length === 0 ? null : value.map(normal);
  if (typeof value === "object") {
    const entries = Object.entries(value as Loose);
    return entries.length === 0 ? null : Object.fromEntries(entries.map(([k, v]) => [k, normal(v)]));
  }
  return value;
}

const same = (a: unknown, b: unknown): boolean => canonical(normal(a)) === canonical(normal(b));
const field = (o: object | undefined, name: string): unknown => (o as Loose | undefined)?.[name];

/** CombinedTaskMeta (nomad/structs/structs.go): task meta over group meta over job meta. */
function combinedMeta(job: NomadJob, group: NomadTaskGroup, task: NomadTask): Record<string, string> {
  return {
    ...((job.Meta ?? {}) as Record<string, string>),
    ...((field(group, "Meta") ?? {}) as Record<string, string>),
    ...((field(task, "Meta") ?? {}) as Record<string, string>),
  };
}

/** Affinities or spreads of the job, the group and its tasks, in that order (1.9.6 only). */
function accumulated(job: NomadJob, group: NomadTaskGroup, name: "Affinities" | "Spreads"): unknown[] {
  const list = (o: object | undefined) => (field(o, name) as unknown[] | null | undefined) ?? [];
  return [...list(job), ...list(group), ...(name === "Affinities" ? group.Tasks.flatMap(list) : [])];
}

/** Connect services only: a change to any other service is applied in place (connectServiceUpdated). */
function connectServices(group: NomadTaskGroup): unknown[] {
  const services = (field(group, "Services") as Loose[] | null | undefined) ?? [];
  return services
    .filter((s) => s.Connect)
    .map((s) => ({ Name: s.Name, Connect: s.Connect, PortLabel: s.PortLabel, Cluster: s.Cluster }));
}

const renderTemplates = (o: object | undefined): unknown =>
  field(field(o, "RestartPolicy") as object, "RenderTemplates");

/** The task fields tasksUpdated compares (including nonNetworkResourcesUpdated and networkUpdated). */
function taskFields(job: NomadJob, group: NomadTaskGroup, task: NomadTask, v2: boolean): unknown {
  const r = task.Resources as NomadTask["Resources"] & Loose;
  const pick = (names: readonly string[]) =>
    Object.fromEntries(names.map((n) => [n, field(task, n) ?? null]));
  return {
    ...pick(["Driver", "User", "Config", "Env", "Artifacts", "Vault", "Consul", "Templates"]),
    ...pick(["CSIPluginConfig", "VolumeMounts", "Identity", "Identities"]),
    ...(v2 ? pick(["Secrets"]) : {}),
    Meta: combinedMeta(job, group, task),
    Resources: {
      Networks: r.Networks ?? null,
      CPU: r.CPU ?? 0,
      Cores: r.Cores ?? 0,
      MemoryMB: r.MemoryMB ?? 0,
      MemoryMaxMB: r.MemoryMaxMB ?? 0,
      Devices: r.Devices ?? null,
      NUMA: r.NUMA ?? null,
      SecretsMB: r.SecretsMB ?? 0,
    },
    LogDisabled: field(field(task, "LogConfig") as object, "Disabled") ?? false,
    RenderTemplates: renderTemplates(task) ?? null,
  };
}

/**
 * True when the group's allocations must be replaced (tasksUpdated), for a group present in both
 * versions of the job. `version` is the server's ("1.9.6", "2.0.3"): 2.0.3 no longer compares
 * affinities and spreads here, and compares task secrets.
 */
export function groupUpdated(a: NomadJob, b: NomadJob, groupName: string, version = "1.9.6"): boolean {
  const ga = a.TaskGroups.find((g) => g.Name === groupName);
  const gb = b.TaskGroups.find((g) => g.Name === groupName);
  if (!ga || !gb) return true;
  const v2 = Number(version.split(".")[0]) >= 2;
  if (ga.Tasks.length !== gb.Tasks.length) return true;
  const groupFields = (job: NomadJob, g: NomadTaskGroup) => ({
    EphemeralDisk: field(g, "EphemeralDisk") ?? null,
    Networks: g.Networks ?? null,
    Consul: field(g, "Consul") ?? null,
    Connect: connectServices(g),
    Volumes: g.Volumes ?? null,
    RenderTemplates: renderTemplates(g) ?? null,
    ...(v2 ? {} : { Affinities: accumulated(job, g, "Affinities"), Spreads: accumulated(job, g, "Spreads") }),
  });
  if (!same(groupFields(a, ga), groupFields(b, gb))) return true;
  for (const ta of ga.Tasks) {
    const tb = gb.Tasks.find((t) => t.Name === ta.Name);
    if (!tb || !same(taskFields(a, ga, ta, v2), taskFields(b, gb, tb, v2))) return true;
  }
  return false;
}

/** Any group of the new job whose live allocations Nomad would replace. */
export function destructiveChange(a: NomadJob, b: NomadJob, version?: string): boolean {
  return b.TaskGroups.some(
    (g) => a.TaskGroups.some((old) => old.Name === g.Name) && groupUpdated(a, b, g.Name, version),
  );
}

// Server: Nomad 1.9.6 (and 2.0.3 where noted), hashicorp/nomad. Follows: command/agent/job_endpoint.go,
// command/agent/namespace_endpoint.go, command/agent/alloc_endpoint.go, nomad/job_endpoint.go,
// nomad/alloc_endpoint.go (List), nomad/structs/structs.go (JobRegisterResponse,
// JobDeregisterResponse, Allocation.Stub).
// The Nomad double's request/response routes (non-streaming): paths, status codes and bodies as a
// Nomad server answers them. Errors are plain text. Node built-ins only.
import type { NomadAllocation, NomadJob } from "../../../src/clients/nomad/types.ts";
import { withServerDefaults } from "./defaults.ts";
import { compileFilter } from "./filter.ts";
import { addNamespace, deleteNamespace } from "./namespaces.ts";
import { compareStrings, createIndexComparer, type Pager, page, pageQuery } from "./pagination.ts";
import { NomadDoubleError, type NomadState, type Table } from "./state.ts";
import { groupUpdated } from "./updates.ts";
import { variableRoutes } from "./variables.ts";
import { allocStub, fullAlloc } from "./wire.ts";

export interface RouteResult {
  status: number;
  body: unknown;
  /** The table whose index goes in X-Nomad-Index (and that blocking queries wait on). */
  table?: Table;
  headers?: Record<string, string>;
}

export interface Route {
  method: string;
  pattern: RegExp;
  /** Template for logs and metrics (never an ID). */
  name: string;
  table?: Table;
  write?: boolean;
  handle(ctx: RouteContext): RouteResult;
}

export interface RouteContext {
  state: NomadState;
  params: string[];
  url: URL;
  body: unknown;
  namespace: string;
  version: string;
}

export const routes: Route[] = [
  {
    method: "GET",
    pattern: /^\/v1\/agent\/self$/,
    name: "/v1/agent/self",
    handle: ({ version }) => ({
      status: 200,
      body: {
        config: {
          Version: { Version: version, Revision: "double", VersionPrerelease: "", VersionMetadata: "" },
        },
        member: { Name: "double.global", Tags: { build: version, region: "global", dc: "dc1" } },
        stats: {},
      },
    }),
  },
  {
    method: "GET",
    pattern: /^\/v1\/status\/leader$/,
    name: "/v1/status/leader",
    handle: () => ({ status: 200, body: "127.0.0.1:4647" }),
  },
  {
    // A blocking query on the namespaces table (nomad/namespace_endpoint.go ListNamespaces).
    method: "GET",
    pattern: /^\/v1\/namespaces$/,
    name: "/v1/namespaces",
    table: "namespaces",
    handle: ({ state }) => ({
      status: 200,
      body: [...state.namespaces].sort().map((Name) => ({
        Name,
        Description: "",
        Quota: "",
        Meta: null,
        CreateIndex: 1,
        ModifyIndex: 1,
      })),
    }),
  },
  {
    // command/agent/namespace_endpoint.go: PUT or POST /v1/namespace with the namespace as body.
    method: "PUT",
    pattern: /^\/v1\/namespace$/,
    name: "/v1/namespace",
    write: true,
    handle: ({ state, body }) => {
      const name = (body as { Name?: string } | undefined)?.Name;
      if (!name) return { status: 400, body: "Namespace name must be specified" };
      return { status: 200, body: null, headers: { "X-Nomad-Index": String(addNamespace(state, name)) } };
    },
  },
  {
    method: "DELETE",
    pattern: /^\/v1\/namespace\/([^/]+)$/,
    name: "/v1/namespace/:name",
    write: true,
    handle: ({ state, params }) => ({
      status: 200,
      body: null,
      headers: { "X-Nomad-Index": String(deleteNamespace(state, params[0] ?? "")) },
    }),
  },
  { method: "GET", pattern: /^\/v1\/jobs$/, name: "/v1/jobs", table: "jobs", handle: listJobs },
  { method: "POST", pattern: /^\/v1\/jobs$/, name: "/v1/jobs", write: true, handle: register },
  { method: "POST", pattern: /^\/v1\/job\/([^/]+)$/, name: "/v1/job/:id", write: true, handle: register },
  {
    method: "GET",
    pattern: /^\/v1\/job\/([^/]+)$/,
    name: "/v1/job/:id",
    table: "jobs",
    handle: ({ state, params, namespace }) => {
      const job = state.job(namespace, params[0] ?? "");
      return job ? { status: 200, body: job } : { status: 404, body: "job not found" };
    },
  },
  {
    method: "DELETE",
    pattern: /^\/v1\/job\/([^/]+)$/,
    name: "/v1/job/:id",
    write: true,
    handle: ({ state, params, namespace, url }) => {
      // structs.JobDeregisterResponse. An unknown job is not an error: Job.Deregister returns at once,
      // the reply zero-valued (EvalID "", indexes 0) and X-Nomad-Index 0 (nomad/job_endpoint.go,
      // command/agent/job_endpoint.go jobDelete).
      const purge = url.searchParams.get("purge") === "true";
      const { evalId, index } = state.deregister(namespace, params[0] ?? "", purge);
      return {
        status: 200,
        body: {
          EvalID: evalId,
          EvalCreateIndex: evalId ? index : 0,
          JobModifyIndex: index,
          VolumeEvalID: "",
          VolumeEvalIndex: 0,
          ...queryMeta(index),
        },
        ...(index === 0 ? { headers: { "X-Nomad-Index": "0" } } : {}),
      };
    },
  },
  {
    method: "GET",
    pattern: /^\/v1\/job\/([^/]+)\/allocations$/,
    name: "/v1/job/:id/allocations",
    table: "allocs",
    handle: ({ state, params, namespace, url }) => {
      const all = url.searchParams.get("all") === "true";
      const allocs = state
        .jobAllocs(namespace, params[0] ?? "", all)
        .sort((a, b) => b.CreateIndex - a.CreateIndex)
        .map(allocStub);
      return { status: 200, body: allocs };
    },
  },
  {
    method: "GET",
    pattern: /^\/v1\/job\/([^/]+)\/evaluations$/,
    name: "/v1/job/:id/evaluations",
    table: "evals",
    handle: ({ state, params, namespace }) => ({
      status: 200,
      body: state.jobEvals(namespace, params[0] ?? ""),
    }),
  },
  {
    method: "GET",
    pattern: /^\/v1\/job\/([^/]+)\/summary$/,
    name: "/v1/job/:id/summary",
    table: "allocs",
    handle: ({ state, params, namespace }) => {
      const job = state.job(namespace, params[0] ?? "");
      return job ? { status: 200, body: state.summary(job) } : { status: 404, body: "job not found" };
    },
  },
  { method: "POST", pattern: /^\/v1\/job\/([^/]+)\/plan$/, name: "/v1/job/:id/plan", handle: plan },
  {
    method: "GET",
    pattern: /^\/v1\/allocations$/,
    name: "/v1/allocations",
    table: "allocs",
    handle: listAllocs,
  },
  {
    method: "GET",
    pattern: /^\/v1\/allocation\/([^/]+)$/,
    name: "/v1/allocation/:id",
    table: "allocs",
    handle: ({ state, params }) => {
      const alloc = state.allocs.get(params[0] ?? "");
      if (!alloc) return { status: 404, body: "alloc not found" };
      return { status: 200, body: fullAlloc(alloc, state.job(alloc.Namespace, alloc.JobID) ?? null) };
    },
  },
  ...variableRoutes,
];

/** structs.JobRegisterResponse: EvalID, EvalCreateIndex, JobModifyIndex, Warnings and QueryMeta. */
function register({ state, params, body, url }: RouteContext): RouteResult {
  const request = body as { Job?: NomadJob; EnforceIndex?: boolean; JobModifyIndex?: number } | undefined;
  const job = request?.Job;
  if (!job || typeof job !== "object") return { status: 400, body: "Job must be specified" };
  if (params[0] !== undefined && params[0] !== job.ID)
    return { status: 400, body: "Job ID does not match name" };
  const namespace = url.searchParams.get("namespace");
  if (!job.Namespace && namespace) job.Namespace = namespace;
  const problems = validate(job);
  if (problems.length > 0) {
    return {
      status: 500,
      body: `${problems.length} error occurred:\n${problems.map((p) => `\t* ${p}`).join("\n")}\n\n`,
    };
  }
  const cas = request.EnforceIndex ? { index: request.JobModifyIndex ?? 0 } : undefined;
  const result = state.register(job, cas, true); // the parsed body becomes the job
  // The evaluation's write: the register's own for a changed job (job and evaluation in one raft
  // entry), else an EvalUpdate of its own. Never the placements, which the scheduler writes later.
  const index = state.evals.get(result.evalId)?.CreateIndex ?? state.index;
  return {
    status: 200,
    body: {
      EvalID: result.evalId,
      EvalCreateIndex: index,
      JobModifyIndex: result.job.JobModifyIndex ?? 0,
      Warnings: "",
      ...queryMeta(index),
    },
    headers: { "X-Nomad-Index": String(index) },
  };
}

function plan({ state, params, body, version }: RouteContext): RouteResult {
  const job = (body as { Job?: NomadJob } | undefined)?.Job;
  if (!job) return { status: 400, body: "Job must be specified" };
  if (job.ID !== params[0]) return { status: 400, body: "Job ID does not match" };
  job.Namespace ||= "default";
  const existing = state.job(job.Namespace, job.ID);
  const type = !existing ? "Added" : state.unchanged(job) ? "None" : "Edited";
  const failed = state.placementFailures(job);
  // Like the scheduler's reconciler: live allocations of a changed group are updated in place or
  // replaced as tasksUpdated (scheduler/util.go) says; missing ones are placed, extra ones stopped.
  const canonicalJob = withServerDefaults(structuredClone(job), { version: 0, createIndex: 0, index: 0 });
  const live = existing && !existing.Stop ? state.jobAllocs(job.Namespace, job.ID) : [];
  const updates: Record<string, Record<string, number>> = {};
  for (const group of job.TaskGroups ?? []) {
    const running = live.filter(
      (a) =>
        a.TaskGroup === group.Name &&
        a.DesiredStatus === "run" &&
        (a.ClientStatus === "pending" || a.ClientStatus === "running"),
    ).length;
    const kept = type === "Edited" ? Math.min(running, group.Count) : 0;
    const destructive = existing !== undefined && groupUpdated(existing, canonicalJob, group.Name, version);
    const place = type === "None" || failed?.[group.Name] ? 0 : group.Count - kept;
    updates[group.Name] = {
      Canary: 0,
      DestructiveUpdate: destructive ? kept : 0,
      Ignore: type === "None" ? group.Count : 0,
      InPlaceUpdate: destructive ? 0 : kept,
      Migrate: 0,
      Place: type === "None" ? 0 : place,
      Preemptions: 0,
      Stop: type === "Edited" ? Math.max(0, running - group.Count) : 0,
    };
  }
  return {
    status: 200,
    body: {
      Annotations: { DesiredTGUpdates: updates, PreemptedAllocs: null },
      CreatedEvals: null,
      Diff: { Fields: null, ID: job.ID, Objects: null, TaskGroups: null, Type: type },
      FailedTGAllocs: failed ?? null,
      JobModifyIndex: existing?.JobModifyIndex ?? 0,
      NextPeriodicLaunch: "0001-01-01T00:00:00Z",
      Warnings: "",
      Index: state.index, // plan answers WriteMeta (Index only), not QueryMeta
    },
  };
}

/**
 * Job.List (nomad/job_endpoint.go): the jobs table walked by its `id` index, namespace then ID
 * (namespace=*: every one; one namespace: its jobs by ID; `prefix`: the IDs under it, every
 * namespace's in the `id` index's order), `reverse` walking backwards. Tokens "<Namespace>.<ID>"
 * (StructsTokenizer WithNamespace, WithID), compared with `next_token` as strings (paginator.go):
 * where one namespace is the start of another and the next character sorts below "." ("team",
 * "team-a": the walk puts "team" first, the tokens "team-a.x" first), a page of every namespace
 * starts over: page by namespace. `filter` is go-bexpr over the whole job, applied after the token.
 */
function listJobs({ state, url, namespace }: RouteContext): RouteResult {
  const meta = url.searchParams.get("meta") === "true";
  const prefix = url.searchParams.get("prefix") ?? "";
  const filter = url.searchParams.get("filter");
  const query = pageQuery(url);
  const jobs = [...state.jobs.values()]
    .map((r) => r.job)
    .filter((j) => (namespace === "*" || j.Namespace === namespace) && j.ID.startsWith(prefix))
    .sort((a, b) => compareStrings(a.Namespace, b.Namespace) || compareStrings(a.ID, b.ID));
  // Every namespace under a prefix walks the `id` index as it is (jobsByIDPrefixAllNamespaces).
  if (query.reverse && !(prefix && namespace === "*")) jobs.reverse();
  const pager: Pager<NomadJob> = {
    token: (j) => `${j.Namespace}.${j.ID}`,
    compare: compareStrings,
    keep: filter ? compileFilter<NomadJob>(filter) : () => true,
  };
  const { items, nextToken } = page(jobs, pager, query);
  return {
    status: 200,
    body: items.map((j) => state.stub(j, meta)),
    ...(nextToken ? { headers: { "X-Nomad-NextToken": nextToken } } : {}),
  };
}

/**
 * Alloc.List (nomad/alloc_endpoint.go): the allocations of `namespace` (`*`: every one), walked in
 * CreateIndex order, then ID (the `create` and `namespace_create` indexes; tokens "<CreateIndex>.<ID>"),
 * or under `prefix` in ID order (`id_prefix`; tokens the ID); `reverse` walks backwards. As
 * AllocListStubs (Allocation.Stub): `task_states=false` leaves TaskStates null; `resources=true` would
 * add AllocatedResources, which the double does not keep.
 */
function listAllocs({ state, url, namespace, version }: RouteContext): RouteResult {
  const taskStates = parseBool(url, "task_states") ?? true;
  parseBool(url, "resources"); // checked like Nomad's; the double keeps no AllocatedResources to add
  const prefix = url.searchParams.get("prefix") ?? "";
  const filter = url.searchParams.get("filter");
  const query = pageQuery(url);
  const allocs = [...state.allocs.values()]
    .filter((a) => (namespace === "*" || a.Namespace === namespace) && a.ID.startsWith(prefix))
    .sort((a, b) => (prefix ? 0 : a.CreateIndex - b.CreateIndex) || compareStrings(a.ID, b.ID));
  if (query.reverse) allocs.reverse();
  const pager: Pager<NomadAllocation> = {
    token: prefix ? (a) => a.ID : (a) => `${a.CreateIndex}.${a.ID}`,
    compare: prefix ? compareStrings : createIndexComparer(version),
    keep: filter ? compileFilter<NomadAllocation>(filter, ALLOC_FILTER_FIELDS) : () => true,
  };
  const { items, nextToken } = page(allocs, pager, query);
  return {
    status: 200,
    body: items.map((a) => ({ ...allocStub(a), ...(taskStates ? {} : { TaskStates: null }) })),
    ...(nextToken ? { headers: { "X-Nomad-NextToken": nextToken } } : {}),
  };
}

/** Allocation fields a `filter` on /v1/allocations may name (go-bexpr reads any; these suffice). */
const ALLOC_FILTER_FIELDS = [
  "ID",
  "Namespace",
  "Name",
  "JobID",
  "TaskGroup",
  "NodeID",
  "ClientStatus",
  "DesiredStatus",
];

/** command/agent/http.go parseBool: absent is undefined; Go's strconv.ParseBool spellings, else a 500. */
function parseBool(url: URL, field: string): boolean | undefined {
  const text = url.searchParams.get(field) ?? "";
  if (text === "") return undefined;
  if (["1", "t", "T", "TRUE", "true", "True"].includes(text)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) return false;
  throw new NomadDoubleError(
    500,
    `Failed to parse value of "${field}" (${text}) as a bool: strconv.ParseBool: parsing "${text}": invalid syntax`,
  );
}

function validate(job: NomadJob): string[] {
  const problems: string[] = [];
  if (!["batch", "service", "system", "sysbatch"].includes(job.Type))
    problems.push(`Invalid job type: "${job.Type}"`);
  if (!job.TaskGroups?.length) problems.push("Missing job task groups");
  for (const group of job.TaskGroups ?? []) {
    if (!group.Tasks?.length)
      problems.push(`Task group ${group.Name} validation failed: Missing tasks for task group`);
    for (const task of group.Tasks ?? []) {
      if (!task.Driver) problems.push(`Task ${task.Name} validation failed: Missing task driver`);
      if (!task.Resources || task.Resources.MemoryMB < 10) {
        problems.push(`Task ${task.Name} validation failed: minimum MemoryMB value is 10`);
      }
    }
  }
  return problems;
}

export function queryMeta(index: number) {
  return { Index: index, LastContact: 0, KnownLeader: true, NextToken: "" };
}

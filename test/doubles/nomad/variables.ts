// Nomad Variables in the double, as a Nomad 1.9 server keeps them: PUT/POST /v1/var/:path with an
// optional `cas` index, GET (404 "variable not found"), DELETE (204, also for a missing one).
// Sources (v1.9.6): command/agent/variable_endpoint.go (routes, status codes, 409 with the conflicting
// variable as the body), nomad/state/state_store_variables.go (varSetCASTxn: cas=0 means "must not
// exist"; a cas index on a missing variable conflicts with a zero-valued variable; svDeleteTxn: a
// missing variable deletes successfully), nomad/structs/variables.go (ValidatePath).
import type { NomadVariable } from "../../../src/clients/nomad/types.ts";
import type { Route, RouteContext, RouteResult } from "./routes.ts";

const VALID_PATH = /^[a-zA-Z0-9\-_~/]{1,128}$/;

export class VariableStore {
  readonly #vars = new Map<string, NomadVariable>();
  readonly #nextIndex: () => number;

  constructor(nextIndex: () => number) {
    this.#nextIndex = nextIndex;
  }

  get(namespace: string, path: string): NomadVariable | undefined {
    const found = this.#vars.get(`${namespace}/${path}`);
    return found ? structuredClone(found) : undefined;
  }

  /** Every stored variable (tests search them). */
  all(): NomadVariable[] {
    return [...this.#vars.values()].map((v) => structuredClone(v));
  }

  /** Sets the items; with `cas`, only when the ModifyIndex matches. Returns the conflict otherwise. */
  set(
    namespace: string,
    path: string,
    items: Record<string, string>,
    cas: number | undefined,
  ): { variable?: NomadVariable; conflict?: NomadVariable; invalid?: string } {
    const invalid = pathProblem(path);
    if (invalid) return { invalid };
    const key = `${namespace}/${path}`;
    const existing = this.#vars.get(key);
    if (cas !== undefined) {
      if (cas === 0 && existing) return { conflict: structuredClone(existing) };
      if (cas !== 0 && !existing) return { conflict: zero(namespace, path) };
      if (existing && existing.ModifyIndex !== cas) return { conflict: structuredClone(existing) };
    }
    const index = this.#nextIndex();
    const now = Date.now() * 1_000_000;
    const variable: NomadVariable = {
      Namespace: namespace,
      Path: path,
      Items: { ...items },
      CreateIndex: existing?.CreateIndex ?? index,
      ModifyIndex: index,
      CreateTime: existing?.CreateTime ?? now,
      ModifyTime: now,
    };
    this.#vars.set(key, variable);
    return { variable: structuredClone(variable) };
  }

  /** Deletes; with `cas`, only when the ModifyIndex matches. A missing variable is a success. */
  delete(namespace: string, path: string, cas: number | undefined): { conflict?: NomadVariable } {
    const key = `${namespace}/${path}`;
    const existing = this.#vars.get(key);
    if (!existing) return {};
    if (cas !== undefined && existing.ModifyIndex !== cas) return { conflict: structuredClone(existing) };
    this.#vars.delete(key);
    this.#nextIndex();
    return {};
  }
}

function zero(namespace: string, path: string): NomadVariable {
  return {
    Namespace: namespace,
    Path: path,
    Items: {},
    CreateIndex: 0,
    ModifyIndex: 0,
    CreateTime: 0,
    ModifyTime: 0,
  };
}

/** ValidatePath's answer; the RPC returns it as an uncoded error, so the HTTP status is 500. */
function pathProblem(path: string): string | undefined {
  if (!VALID_PATH.test(path)) return `invalid path "${path}"`;
  if (path === "nomad") return '"nomad" is a reserved top-level directory path';
  return undefined;
}

/** The `cas` query parameter: undefined when absent, NaN when it does not parse (400). */
function casOf(url: URL): number | undefined {
  const raw = url.searchParams.get("cas");
  if (raw === null || raw === "") return undefined;
  return /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
}

const BAD_CAS = { status: 400, body: "can not parse cas: strconv.ParseUint: parsing: invalid syntax" };

function upsert({ state, params, url, body, namespace }: RouteContext): RouteResult {
  const items = (body as { Items?: Record<string, string> } | undefined)?.Items;
  if (!items || Object.keys(items).length === 0) {
    return { status: 400, body: "variable missing required Items object" };
  }
  const cas = casOf(url);
  if (Number.isNaN(cas)) return BAD_CAS;
  const result = state.variables.set(namespace, params[0] ?? "", items, cas);
  if (result.invalid) return { status: 500, body: result.invalid };
  if (result.conflict) return { status: 409, body: result.conflict };
  return { status: 200, body: result.variable };
}

export const variableRoutes: Route[] = [
  {
    method: "GET",
    pattern: /^\/v1\/var\/(.+)$/,
    name: "/v1/var/:path",
    handle: ({ state, params, namespace }) => {
      const found = state.variables.get(namespace, params[0] ?? "");
      return found ? { status: 200, body: found } : { status: 404, body: "variable not found" };
    },
  },
  { method: "PUT", pattern: /^\/v1\/var\/(.+)$/, name: "/v1/var/:path", write: true, handle: upsert },
  { method: "POST", pattern: /^\/v1\/var\/(.+)$/, name: "/v1/var/:path", write: true, handle: upsert },
  {
    method: "DELETE",
    pattern: /^\/v1\/var\/(.+)$/,
    name: "/v1/var/:path",
    write: true,
    handle: ({ state, params, url, namespace }) => {
      const cas = casOf(url);
      if (Number.isNaN(cas)) return BAD_CAS;
      const result = state.variables.delete(namespace, params[0] ?? "", cas);
      if (result.conflict) return { status: 409, body: result.conflict };
      return { status: 204, body: null };
    },
  },
];

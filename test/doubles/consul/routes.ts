// Server: Consul 1.20.2, hashicorp/consul. Follows: agent/http_register.go, agent/agent_endpoint.go,
// agent/catalog_endpoint.go, agent/health_endpoint.go, agent/blockingquery/blockingquery.go.
// The Consul double's HTTP routes: real paths, plain-text errors, blocking queries on table indexes
// (`?index=&wait=`, X-Consul-Index) and on content hashes for the agent endpoints (`?hash=`,
// X-Consul-ContentHash), `filter=` expressions, and ACL answers (403 for a bad token; reads by the
// anonymous token filtered empty with X-Consul-Results-Filtered-By-ACLs, as Consul does).
import { createHash } from "node:crypto";
import { compileFilter, FilterError } from "./filter.ts";
import { ConsulDoubleError, type ConsulState, parseDuration, type Table } from "./state.ts";
import type { CheckStatus, ServiceRegistration } from "./types.ts";

export interface RouteRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  /** "ok" (no ACLs or the right token), "anonymous" (no token), "unknown" (a wrong token). */
  acl: "ok" | "anonymous" | "unknown";
  signal: AbortSignal;
}

export interface Reply {
  status: number;
  /** JSON value, or a string sent as text/plain. */
  body?: unknown;
  text?: string;
  headers?: Record<string, string>;
}

export interface RouteOptions {
  /** Add up to wait/16 to blocking waits, as Consul does. */
  waitJitter: boolean;
}

const CHECK_SELECTORS = [
  "CheckID",
  "Name",
  "Node",
  "Notes",
  "Output",
  "ServiceID",
  "ServiceName",
  "ServiceTags",
  "Status",
  "Type",
];
const AGENT_SERVICE_SELECTORS = [
  "ID",
  "Service",
  "Tags",
  "Meta",
  "Port",
  "Address",
  "Kind",
  "Weights",
  "EnableTagOverride",
  "TaggedAddresses",
  "Datacenter",
];
const CATALOG_SELECTORS = [
  "ID",
  "Node",
  "Address",
  "Datacenter",
  "TaggedAddresses",
  "NodeMeta",
  "ServiceKind",
  "ServiceID",
  "ServiceName",
  "ServiceTags",
  "ServiceAddress",
  "ServiceWeights",
  "ServiceMeta",
  "ServicePort",
  "ServiceEnableTagOverride",
];
const HEALTH_SERVICE_SELECTORS = ["Node", "Service", "Checks"];

const text = (status: number, message: string): Reply => ({ status, text: message });
const denied = (permission: string, on: string): Reply =>
  text(403, `Permission denied: anonymous token lacks permission '${permission}' on ${JSON.stringify(on)}`);

/** Template of a path, for counters: /v1/agent/service/deregister/:id. */
export function routeTemplate(method: string, path: string): string {
  const templates: [RegExp, string][] = [
    [/^\/v1\/agent\/service\/deregister\/.+$/, "/v1/agent/service/deregister/:id"],
    [/^\/v1\/agent\/service\/(?!register$).+$/, "/v1/agent/service/:id"],
    [/^\/v1\/agent\/check\/update\/.+$/, "/v1/agent/check/update/:id"],
    [/^\/v1\/health\/state\/.+$/, "/v1/health/state/:state"],
    [/^\/v1\/health\/checks\/.+$/, "/v1/health/checks/:service"],
    [/^\/v1\/health\/service\/.+$/, "/v1/health/service/:service"],
    [/^\/v1\/catalog\/service\/.+$/, "/v1/catalog/service/:service"],
    [/^\/v1\/session\/(renew|destroy|info)\/.+$/, "/v1/session/$1/:id"],
    [/^\/v1\/kv\/.+$/, "/v1/kv/:key"],
  ];
  const match = templates.find(([re]) => re.test(path));
  return `${method} ${match ? path.replace(match[0], match[1]) : path}`;
}

export async function route(state: ConsulState, req: RouteRequest, options: RouteOptions): Promise<Reply> {
  if (req.acl === "unknown") return text(403, "ACL not found");
  const { method, path } = req;
  const is = (m: string, re: RegExp): RegExpExecArray | null => (method === m ? re.exec(path) : null);
  let m: RegExpExecArray | null;
  try {
    if (path === "/v1/status/leader") {
      return method === "GET"
        ? { status: 200, body: `${state.node.address}:8300` }
        : methodNotAllowed(method);
    }
    m = is("GET", /^\/v1\/agent\/self$/);
    if (m) {
      if (req.acl === "anonymous") return denied("agent:read", state.node.name);
      return {
        status: 200,
        body: {
          Config: {
            Datacenter: state.node.datacenter,
            NodeName: state.node.name,
            Server: true,
            Version: "1.20.0",
          },
          Member: { Name: state.node.name, Addr: state.node.address, Port: 8301, Status: 1 },
          Meta: {},
        },
      };
    }
    m = is("PUT", /^\/v1\/agent\/service\/register$/);
    if (m) {
      const body = req.body as ServiceRegistration;
      if (req.acl === "anonymous") return denied("service:write", body?.Name ?? "");
      state.registerService(body);
      return { status: 200, text: "" };
    }
    m = is("PUT", /^\/v1\/agent\/service\/deregister\/(.+)$/);
    if (m) {
      const id = decodeURIComponent(m[1] as string);
      const known = state.service(id);
      if (req.acl === "anonymous") return denied("service:write", known?.Service ?? id);
      if (!state.deregisterService(id)) {
        return text(
          404,
          `Unknown service ID ${JSON.stringify(id)}. Ensure that the service ID is passed, not the service name.`,
        );
      }
      return { status: 200, text: "" };
    }
    m = is("PUT", /^\/v1\/agent\/check\/update\/(.+)$/);
    if (m) {
      const update = (req.body ?? {}) as { Status?: string; Output?: string };
      if (!["passing", "warning", "critical"].includes(update.Status ?? "")) {
        return text(400, `Invalid check status: '${update.Status ?? ""}'`);
      }
      if (req.acl === "anonymous") return denied("service:write", m[1] as string);
      const id = decodeURIComponent(m[1] as string);
      if (!state.updateCheck(id, update.Status as CheckStatus, update.Output ?? "")) {
        return text(
          404,
          `Unknown check ID ${JSON.stringify(id)}. Ensure that the check ID is passed, not the check name.`,
        );
      }
      return { status: 200, text: "" };
    }
    m = is("GET", /^\/v1\/agent\/services$/);
    if (m) {
      const keep = compile(req.query, AGENT_SERVICE_SELECTORS);
      const produce = (): Record<string, unknown> =>
        req.acl === "anonymous"
          ? {}
          : Object.fromEntries(
              state
                .services()
                .filter(keep)
                .map((s) => [s.ID, s]),
            );
      return hashBlocking(state, req, options, produce);
    }
    m = is("GET", /^\/v1\/agent\/service\/(.+)$/);
    if (m) {
      const service = state.service(decodeURIComponent(m[1] as string));
      if (!service || req.acl === "anonymous") return text(404, `unknown service ID: ${m[1]}`);
      const hash = contentHash(service);
      return {
        status: 200,
        body: { ...service, ContentHash: hash },
        headers: { "X-Consul-ContentHash": hash },
      };
    }
    m = is("GET", /^\/v1\/health\/state\/([^/]+)$/);
    if (m) {
      const wanted = m[1] as string;
      if (!["any", "passing", "warning", "critical"].includes(wanted))
        return text(400, `Invalid state: ${wanted}`);
      const keep = compile(req.query, CHECK_SELECTORS);
      return indexBlocking(state, "checks", req, options, () =>
        state.checks().filter((c) => (wanted === "any" || c.Status === wanted) && keep(c)),
      );
    }
    m = is("GET", /^\/v1\/health\/checks\/([^/]+)$/);
    if (m) {
      const name = decodeURIComponent(m[1] as string);
      const keep = compile(req.query, CHECK_SELECTORS);
      return indexBlocking(state, "checks", req, options, () =>
        state.checks().filter((c) => c.ServiceName === name && keep(c)),
      );
    }
    m = is("GET", /^\/v1\/health\/service\/([^/]+)$/);
    if (m) {
      const name = decodeURIComponent(m[1] as string);
      const keep = compile(req.query, HEALTH_SERVICE_SELECTORS);
      const passing = ["", "true", "1"].includes(req.query.get("passing") ?? "no");
      return indexBlocking(state, "checks", req, options, () =>
        healthEntries(state, name, passing).filter(keep),
      );
    }
    m = is("GET", /^\/v1\/catalog\/services$/);
    if (m) {
      const keep = compile(req.query, CATALOG_SELECTORS);
      return indexBlocking(state, "services", req, options, () => {
        const out: Record<string, string[]> = {};
        for (const s of state.services()) {
          const entry = state.catalogEntries(s.Service).find((e) => e.ServiceID === s.ID);
          if (entry && keep(entry)) out[s.Service] = [...new Set([...(out[s.Service] ?? []), ...s.Tags])];
        }
        return out;
      });
    }
    m = is("GET", /^\/v1\/catalog\/service\/([^/]+)$/);
    if (m) {
      const name = decodeURIComponent(m[1] as string);
      const keep = compile(req.query, CATALOG_SELECTORS);
      return indexBlocking(state, "services", req, options, () => state.catalogEntries(name).filter(keep));
    }
    if (/^\/v1\/(agent|health|catalog|status)\//.test(path)) return methodNotAllowed(method);
    return text(404, "404 page not found");
  } catch (error) {
    if (error instanceof ConsulDoubleError) return text(error.status, error.message);
    if (error instanceof FilterError) {
      return text(400, `Failed to create boolean expression evaluator: ${error.message}`);
    }
    throw error;
  }
}

function methodNotAllowed(method: string): Reply {
  return text(405, `method ${method} not allowed`);
}

function compile(query: URLSearchParams, selectors: readonly string[]): (item: unknown) => boolean {
  const filter = query.get("filter");
  return filter ? compileFilter(filter, selectors) : () => true;
}

function waitMs(req: RouteRequest, options: RouteOptions): number {
  const raw = req.query.get("wait");
  let wait = raw ? parseDuration(raw) : 300_000;
  if (Number.isNaN(wait)) throw new ConsulDoubleError(400, "Invalid wait time");
  wait = Math.min(wait, 600_000);
  return wait + (options.waitJitter ? Math.random() * (wait / 16) : 0);
}

async function indexBlocking(
  state: ConsulState,
  table: Table,
  req: RouteRequest,
  options: RouteOptions,
  produce: () => unknown,
): Promise<Reply> {
  const raw = req.query.get("index");
  const index = raw ? Number(raw) : 0;
  if (raw !== null && !/^\d+$/.test(raw)) return text(400, "Invalid index");
  if (index > 0 && state.index(table) <= index)
    await state.waitForChange(table, waitMs(req, options), req.signal);
  const anonymous = req.acl === "anonymous";
  const body = anonymous ? (Array.isArray(produce()) ? [] : {}) : produce();
  return {
    status: 200,
    body,
    headers: {
      "X-Consul-Index": String(state.index(table)),
      "X-Consul-KnownLeader": "true",
      "X-Consul-LastContact": "0",
      "X-Consul-Effective-Consistency": "leader",
      ...(anonymous ? { "X-Consul-Results-Filtered-By-ACLs": "true" } : {}),
    },
  };
}

async function hashBlocking(
  state: ConsulState,
  req: RouteRequest,
  options: RouteOptions,
  produce: () => unknown,
): Promise<Reply> {
  const wanted = req.query.get("hash");
  let body = produce();
  if (wanted && contentHash(body) === wanted) {
    const deadline = Date.now() + waitMs(req, options);
    while (contentHash(body) === wanted && Date.now() < deadline && !req.signal.aborted) {
      await state.waitForChange("services", deadline - Date.now(), req.signal);
      body = produce();
    }
  }
  return { status: 200, body, headers: { "X-Consul-ContentHash": contentHash(body) } };
}

export function contentHash(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);
}

function healthEntries(state: ConsulState, name: string, passingOnly: boolean): unknown[] {
  const nodeChecks = state.checks().filter((c) => c.ServiceID === "");
  return state
    .catalogEntries(name)
    .map((entry) => ({
      Node: {
        ID: entry.ID,
        Node: entry.Node,
        Address: entry.Address,
        Datacenter: entry.Datacenter,
        TaggedAddresses: entry.TaggedAddresses,
        Meta: entry.NodeMeta,
        CreateIndex: 1,
        ModifyIndex: 1,
      },
      Service: {
        ...state.service(entry.ServiceID),
        CreateIndex: entry.CreateIndex,
        ModifyIndex: entry.ModifyIndex,
      },
      Checks: [...nodeChecks, ...state.checks().filter((c) => c.ServiceID === entry.ServiceID)],
    }))
    .filter((e) => !passingOnly || e.Checks.every((c) => c.Status === "passing"));
}

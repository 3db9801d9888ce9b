// Server: Nomad 1.9.6 (and 2.0.3 where noted), hashicorp/nomad. Follows: command/agent/http.go (wrap,
// errCodeFromHandler, setIndex), nomad/rpc.go + helper/pool/pool.go (forwarded errors),
// nomad/blocked_evals.go.
// An in-process Nomad API double on node:http, honest to the wire: real paths and status codes,
// X-Nomad-Index / X-Nomad-KnownLeader / X-Nomad-LastContact headers, blocking queries (?index=&wait=),
// plain-text errors, 403 for a bad token when ACLs are on, the event stream (ndjson, `{}` heartbeats,
// small buffer, resumption by index) and framed allocation logs. Scripting: the `lifecycle` moves
// allocations; `failNext`, `setOutage`, `dropStreams` and `stallStreams` make it fail, stall or go
// away; `writes` counts write calls. Node built-ins only, so it also runs inside a container image.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { plain, serveAllocLogs } from "./alloc-logs.ts";
import { type OpenStream, serveEventStream } from "./event-stream.ts";
import { type AllocHandle, type Executor, ScriptedExecutor } from "./executor.ts";
import { Lifecycle } from "./lifecycle.ts";
import { addNamespace } from "./namespaces.ts";
import type { DoubleNode } from "./placement.ts";
import { routes } from "./routes.ts";
import { ServiceRegistrar, type ServicesHook } from "./services.ts";
import { NomadDoubleError, NomadState, type Table } from "./state.ts";
import { key } from "./wire.ts";

export interface NomadDoubleOptions {
  host?: string;
  port?: number;
  /** When set, every request needs one of these tokens (X-Nomad-Token or Authorization: Bearer). */
  tokens?: readonly string[];
  version?: string;
  heartbeatMs?: number;
  eventBufferSize?: number;
  executor?: Executor;
  onServices?: ServicesHook;
  consul?: string;
  consulToken?: string;
  namespaces?: readonly string[];
  /** Client nodes (default: one node without host volumes or devices). */
  nodes?: readonly DoubleNode[];
  /**
   * Answer as an agent that forwards writes to the leader (a client agent or a follower server:
   * nomad/rpc.go forwardLeader): errors returned over RPC read `rpc error: <message>`
   * (helper/pool/pool.go) and stay 500 (command/agent/http.go errCodeFromHandler).
   */
  forwarded?: boolean;
  /**
   * Keep each request in `requests` (default true). The standalone server (main.ts), whose record no
   * one can read, keeps none: at 10,000 runs the copied bodies were ~100 MB and 5 % of its CPU.
   */
  recordRequests?: boolean;
}

export type Outage = "none" | "refuse" | "error" | "stall";

export interface RequestRecord {
  method: string;
  route: string;
  path: string;
  query: string;
  /** The parsed JSON body of writes and plans (what a client sent). */
  body?: unknown;
}

export class NomadDouble {
  readonly state: NomadState;
  readonly lifecycle: Lifecycle;
  readonly services: ServiceRegistrar;
  readonly requests: RequestRecord[] = [];
  writes = 0;
  /** See NomadDoubleOptions.forwarded; may be switched at any time. */
  forwarded: boolean;
  readonly #options: NomadDoubleOptions;
  readonly #executor: Executor;
  readonly #sockets = new Set<Socket>();
  readonly #streams = new Set<OpenStream>();
  readonly #held = new Set<ServerResponse>();
  #server: Server | undefined;
  #port = 0;
  #outage: Outage = "none";
  #failures: { count: number; status: number; body: string; path?: string } = {
    count: 0,
    status: 500,
    body: "",
  };

  constructor(options: NomadDoubleOptions = {}) {
    this.#options = options;
    this.forwarded = options.forwarded ?? false;
    this.state = new NomadState(options.eventBufferSize ?? 100);
    if (options.version) this.state.version = options.version;
    if (options.nodes) this.state.cluster.nodes = [...options.nodes];
    for (const ns of options.namespaces ?? []) this.state.namespaces.add(ns);
    this.services = new ServiceRegistrar({
      ...(options.onServices ? { onServices: options.onServices } : {}),
      ...(options.consul ? { consul: options.consul } : {}),
      ...(options.consulToken ? { consulToken: options.consulToken } : {}),
    });
    this.lifecycle = new Lifecycle(this.state, this.services);
    this.#executor = options.executor ?? new ScriptedExecutor();
    this.state.onPlaced = (alloc) => this.#executor.start(this.#handle(alloc.ID));
    this.state.onStop = (alloc) => {
      this.#executor.stop(alloc.ID);
      void this.services.deregister(alloc, undefined);
    };
  }

  get address(): string {
    return `http://${this.#options.host ?? "127.0.0.1"}:${this.#port}`;
  }

  async start(): Promise<this> {
    await this.#listen(this.#options.port ?? 0);
    return this;
  }

  /** refuse: stop listening, drop connections; error: 500 to all; stall: hold requests unanswered. */
  async setOutage(mode: Outage): Promise<void> {
    const previous = this.#outage;
    this.#outage = mode;
    if (mode === "refuse") await this.#closeServer();
    if (previous === "refuse" && mode !== "refuse") await this.#listen(this.#port);
    if (mode !== "stall") {
      for (const res of this.#held) res.destroy();
      this.#held.clear();
    }
  }

  /** The next `count` requests (to `path` only, when given) fail with `status` and `body`. */
  failNext(count: number, status = 500, body = "No cluster leader", path?: string): void {
    this.#failures = { count, status, body, ...(path ? { path } : {}) };
  }

  /** Creates a namespace, as `nomad namespace apply` does (blocking queries on /v1/namespaces wake). */
  addNamespace(name: string): void {
    addNamespace(this.state, name);
  }

  /** The namespaces each open event stream was subscribed with (`*` expanded when it opened). */
  streamNamespaces(): (readonly string[])[] {
    return [...this.#streams].map((s) => s.namespaces);
  }

  /** Closes every open event stream (subscribers see the connection end). */
  dropStreams(): void {
    for (const stream of this.#streams) stream.res.destroy();
    this.#streams.clear();
  }

  /** Open event streams go silent (no events, no heartbeats) but stay connected. */
  stallStreams(): void {
    for (const stream of this.#streams) stream.stalled = true;
  }

  get openStreams(): number {
    return this.#streams.size;
  }

  /** Scripted placement failure for a job (FailedTGAllocs per group), or undefined to clear. */
  blockPlacement(
    namespace: string,
    jobId: string,
    failures: Parameters<NomadState["blocked"]["set"]>[1] | undefined,
  ) {
    if (failures) this.state.blocked.set(key(namespace, jobId), failures);
    else {
      this.state.blocked.delete(key(namespace, jobId));
      this.state.unblock();
    }
  }

  /**
   * The client nodes, as their agent configuration declares them (host volumes, device groups of a
   * device plugin); blocked placements that now fit are placed, as a node update unblocks them.
   */
  setNodes(nodes: readonly DoubleNode[]): void {
    this.state.cluster.nodes = [...nodes];
    this.state.unblock();
  }

  /** Allocations of a job, oldest first. */
  allocations(namespace: string, jobId: string) {
    return this.state.jobAllocs(namespace, jobId).sort((a, b) => a.CreateIndex - b.CreateIndex);
  }

  async close(): Promise<void> {
    await this.#executor.close();
    this.dropStreams();
    for (const res of this.#held) res.destroy();
    await this.#closeServer();
  }

  #handle(allocId: string): AllocHandle {
    const { lifecycle, state } = this;
    return {
      get alloc() {
        return lifecycle.alloc(allocId);
      },
      get job() {
        const alloc = lifecycle.alloc(allocId);
        return state.job(alloc.Namespace, alloc.JobID);
      },
      running: () => lifecycle.running(allocId),
      exit: (options) => lifecycle.exit(allocId, options),
      driverFailure: (message) => lifecycle.driverFailure(allocId, message),
      log: (task, text) => lifecycle.appendLog(allocId, task, text),
      variable: (path) => state.variables.get(lifecycle.alloc(allocId).Namespace, path)?.Items,
    };
  }

  #listen(port: number): Promise<void> {
    const server = createServer((req, res) => {
      this.#serve(req, res).catch((error: unknown) => {
        if (!res.headersSent) plain(res, 500, error instanceof Error ? error.message : String(error));
      });
    });
    server.on("connection", (socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, this.#options.host ?? "127.0.0.1", () => {
        const address = server.address();
        this.#port = typeof address === "object" && address ? address.port : port;
        resolve();
      });
    });
  }

  async #closeServer(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.dropStreams();
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #record(request: () => RequestRecord): void {
    if (this.#options.recordRequests !== false) this.requests.push(request());
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://double");
    const method = req.method ?? "GET";
    const text = await readBody(req);
    if (this.#outage === "stall") {
      this.#held.add(res);
      return;
    }
    if (this.#outage === "error") return plain(res, 500, "No cluster leader");
    if (this.#failures.count > 0 && (!this.#failures.path || this.#failures.path === url.pathname)) {
      this.#failures.count--;
      return plain(res, this.#failures.status, this.#failures.body);
    }
    const denied = this.#acl(req);
    if (denied) return plain(res, 403, denied);
    const namespace = url.searchParams.get("namespace") || "default";
    if (method === "GET" && url.pathname === "/v1/event/stream") {
      this.#record(() => ({ method, route: "/v1/event/stream", path: url.pathname, query: url.search }));
      return serveEventStream(res, url, this.state, this.#streams, {
        ...(this.#options.heartbeatMs !== undefined ? { heartbeatMs: this.#options.heartbeatMs } : {}),
        headers: headers(this.state.index),
      });
    }
    const logs = /^\/v1\/client\/fs\/logs\/([^/]+)$/.exec(url.pathname);
    if (method === "GET" && logs) {
      this.#record(() => ({
        method,
        route: "/v1/client/fs/logs/:alloc",
        path: url.pathname,
        query: url.search,
      }));
      return serveAllocLogs(res, url, decodeURIComponent(logs[1] ?? ""), {
        state: this.state,
        logs: this.lifecycle.logs,
        heartbeatMs: this.#options.heartbeatMs ?? 10_000,
      });
    }
    for (const route of routes) {
      const match = route.pattern.exec(url.pathname);
      if (!match) continue;
      if (route.method !== method) continue;
      if (route.write) this.writes++;
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch (error) {
        return plain(res, 400, `Unable to decode request body: ${(error as Error).message}`);
      }
      this.#record(() => ({
        method,
        route: route.name,
        path: url.pathname,
        query: url.search,
        ...(body !== undefined ? { body: structuredClone(body) } : {}),
      }));
      if (route.table && url.searchParams.has("index")) {
        await this.#block(route.table, Number(url.searchParams.get("index")), url.searchParams.get("wait"));
      }
      try {
        const result = route.handle({
          state: this.state,
          params: match.slice(1).map((p) => decodeURIComponent(p)),
          url,
          body,
          namespace,
          version: this.#options.version ?? "1.9.7",
        });
        const index = route.table ? this.state.tableIndex(route.table) : this.state.index;
        if (result.status >= 300 && typeof result.body === "string")
          return plain(res, result.status, this.#rpcError(result.status, result.body));
        if (result.status === 204) return void res.writeHead(204, headers(index)).end();
        res.writeHead(result.status, {
          "content-type": "application/json",
          ...headers(index),
          ...result.headers,
        });
        res.end(JSON.stringify(result.body));
      } catch (error) {
        if (error instanceof NomadDoubleError)
          return plain(res, error.status, this.#rpcError(error.status, error.message));
        throw error;
      }
      return;
    }
    const known = routes.some((r) => r.pattern.test(url.pathname));
    plain(res, known ? 405 : 404, known ? "Invalid method" : "Invalid URL");
  }

  /** A 500 is an error the server's RPC handler returned; forwarded, it gains pool.go's prefix. */
  #rpcError(status: number, message: string): string {
    return this.forwarded && status === 500 ? `rpc error: ${message}` : message;
  }

  #acl(req: IncomingMessage): string | undefined {
    const tokens = this.#options.tokens;
    if (!tokens) return undefined;
    const header = req.headers["x-nomad-token"];
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1];
    const token = (Array.isArray(header) ? header[0] : header) ?? bearer;
    if (!token) return "Permission denied";
    return tokens.includes(token) ? undefined : "ACL token not found";
  }

  async #block(table: Table, index: number, wait: string | null): Promise<void> {
    if (this.state.tableIndex(table) > index) return;
    const ms = Math.min(parseWait(wait ?? "5m"), 600_000);
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.state.changes.off(table, done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.state.changes.on(table, done);
    });
  }
}

export async function startNomadDouble(options: NomadDoubleOptions = {}): Promise<NomadDouble> {
  return new NomadDouble(options).start();
}

function headers(index: number): Record<string, string> {
  return {
    "X-Nomad-Index": String(Math.max(1, index)),
    "X-Nomad-KnownLeader": "true",
    "X-Nomad-LastContact": "0",
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Nomad's wait parameter: "5s", "300ms", "2m", or bare seconds. */
export function parseWait(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return 300_000;
  const n = Number(m[1]);
  return m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : m[2] === "h" ? n * 3_600_000 : n * 1000;
}

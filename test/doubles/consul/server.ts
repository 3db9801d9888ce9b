// Server: Consul 1.20.2, hashicorp/consul. Follows: agent/http.go (errors, ACL token headers),
// acl/errors.go.
// The Consul double as an HTTP server on loopback (or any address, for a stand-in container):
// routes.ts answers; this file adds ACL tokens, request and write counters, and outage scripting
// (refuse connections, answer 500 "No cluster leader", stall without answering, fail the next N).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import { Listener } from "../listener.ts";
import { HttpCheckRunner } from "./http-checks.ts";
import { type Reply, route, routeTemplate } from "./routes.ts";
import { routeSessions, SessionStore } from "./sessions.ts";
import { ConsulState, type NodeInfo } from "./state.ts";
import type { AgentService, ServiceRegistration } from "./types.ts";

export interface ConsulDoubleOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Enforce ACLs: requests must carry this token (X-Consul-Token, Authorization: Bearer, ?token=). */
  token?: string;
  /** Run registered HTTP checks against their URLs (off by default). */
  httpChecks?: boolean;
  /** Add up to wait/16 to blocking waits, as Consul does (default true). */
  waitJitter?: boolean;
  node?: Partial<NodeInfo>;
  state?: ConsulState;
  /** Consul's session_ttl_min (default 10 s): the shortest session TTL accepted. */
  sessionTtlMinMs?: number;
  /** Consul's kv_max_value_size: PUT /v1/kv bodies over it answer 413 (default 512 KiB). */
  kvMaxValueSize?: number;
  /** Serve HTTPS (PEM); with `ca`, require client certificates signed by it (verify_incoming). */
  tls?: { cert: string; key: string; ca?: string };
}

/** none; refuse: the port is closed; error: 500 "No cluster leader"; stall: requests never answered. */
export type Outage = "none" | "refuse" | "error" | "stall";

export class ConsulDouble {
  readonly state: ConsulState;
  /** Sessions and the key/value store (/v1/session/*, /v1/kv/*). */
  readonly sessions: SessionStore;
  /** Requests by "METHOD /path/template". */
  readonly requests = new Map<string, number>();
  /** The last 1000 requests with a body (method, path, parsed body), oldest first, for contract checks. */
  readonly recorded: { method: string; path: string; body: unknown }[] = [];
  readonly #options: ConsulDoubleOptions;
  readonly #listener: Listener;
  #checks: HttpCheckRunner | undefined;
  #outage: Outage = "none";
  #failures: { remaining: number; status: number; text: string } | undefined;

  constructor(options: ConsulDoubleOptions = {}) {
    this.#options = options;
    this.state = options.state ?? new ConsulState(options.node);
    this.sessions = new SessionStore({
      node: this.state.node.name,
      ...(options.sessionTtlMinMs === undefined ? {} : { ttlMinMs: options.sessionTtlMinMs }),
      ...(options.kvMaxValueSize === undefined ? {} : { kvMaxValueSize: options.kvMaxValueSize }),
    });
    this.#listener = new Listener(options.host ?? "127.0.0.1", options.port ?? 0, () => this.#makeServer());
  }

  get url(): string {
    return this.#listener.url(this.#options.tls ? "https" : "http");
  }

  get port(): number {
    return this.#listener.port;
  }

  /** Write requests received (every PUT: register, deregister, check updates), answered or not. */
  get writes(): number {
    let total = 0;
    for (const [key, count] of this.requests) if (key.startsWith("PUT ")) total += count;
    return total;
  }

  async start(): Promise<this> {
    await this.#listener.listen();
    if (this.#options.httpChecks) this.#checks = new HttpCheckRunner(this.state);
    return this;
  }

  /** In-process hook (the Nomad double's): registers as PUT /v1/agent/service/register does, not counted. */
  registerService(registration: ServiceRegistration): AgentService {
    return this.state.registerService(registration);
  }

  /** In-process hook: false for an unknown id (404 over HTTP), not counted. */
  deregisterService(id: string): boolean {
    return this.state.deregisterService(id);
  }

  /**
   * A hook for the Nomad double (`onServices`): registers or deregisters each body in process, as
   * Nomad's client does over HTTP. Unknown ids on deregister are ignored (Nomad tolerates the 404).
   */
  servicesHook(): (op: "register" | "deregister", registrations: readonly ServiceRegistration[]) => void {
    return (op, registrations) => {
      for (const registration of registrations) {
        if (op === "register") this.state.registerService(registration);
        else this.state.deregisterService(registration.ID ?? registration.Name);
      }
    };
  }

  /** Scripts an outage; "none" ends it (reopening the same port after "refuse"). */
  async setOutage(mode: Outage): Promise<void> {
    const previous = this.#outage;
    this.#outage = mode;
    if (previous === "stall" && mode !== "stall") this.#listener.release();
    if (mode === "refuse" && this.#listener.listening) await this.#listener.close();
    if (mode !== "refuse" && !this.#listener.listening) await this.#listener.listen();
  }

  /** The next `count` requests answer `status` with a plain-text body. */
  failNext(count: number, status = 500, text = "rpc error making call: No cluster leader"): void {
    this.#failures = { remaining: count, status, text };
  }

  async close(): Promise<void> {
    this.#checks?.close();
    this.sessions.close();
    this.#listener.release();
    await this.#listener.close();
  }

  #makeServer(): Server {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      void this.#handle(req, res);
    };
    const tls = this.#options.tls;
    return tls
      ? createTlsServer(
          {
            cert: tls.cert,
            key: tls.key,
            ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
          },
          handler,
        )
      : createServer(handler);
  }

  #record(method: string, path: string, body: unknown): void {
    this.recorded.push({ method, path, body });
    if (this.recorded.length > 1000) this.recorded.shift();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://consul");
    const method = req.method ?? "GET";
    const key = routeTemplate(method, url.pathname);
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    if (this.#outage === "stall") {
      this.#listener.hold(res);
      return;
    }
    if (this.#outage === "error")
      return send(res, { status: 500, text: "rpc error making call: No cluster leader" });
    if (this.#failures && this.#failures.remaining > 0) {
      this.#failures.remaining--;
      return send(res, { status: this.#failures.status, text: this.#failures.text });
    }
    const raw = await readBody(req);
    let body: unknown;
    if (raw !== "" && url.pathname.startsWith("/v1/kv/")) {
      body = raw; // a key's value is raw bytes, not JSON
    } else if (raw !== "") {
      try {
        body = JSON.parse(raw);
      } catch (error) {
        return send(res, { status: 400, text: `Request decode failed: ${(error as Error).message}` });
      }
      this.#record(method, url.pathname, body);
    }
    const aborted = new AbortController();
    res.on("close", () => aborted.abort());
    try {
      const locks = routeSessions(this.sessions, {
        method,
        path: url.pathname,
        query: url.searchParams,
        body,
      });
      if (locks) return send(res, locks);
      const reply = await route(
        this.state,
        {
          method,
          path: url.pathname,
          query: url.searchParams,
          body,
          acl: this.#acl(req, url),
          signal: aborted.signal,
        },
        { waitJitter: this.#options.waitJitter ?? true },
      );
      send(res, reply);
    } catch (error) {
      send(res, { status: 500, text: (error as Error).message });
    }
  }

  #acl(req: IncomingMessage, url: URL): "ok" | "anonymous" | "unknown" {
    const expected = this.#options.token;
    if (expected === undefined) return "ok";
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1];
    const header = req.headers["x-consul-token"];
    const given =
      (Array.isArray(header) ? header[0] : header) ?? bearer ?? url.searchParams.get("token") ?? "";
    if (given === "") return "anonymous";
    return given === expected ? "ok" : "unknown";
  }
}

export async function startConsulDouble(options: ConsulDoubleOptions = {}): Promise<ConsulDouble> {
  return new ConsulDouble(options).start();
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.writableEnded || res.destroyed) return;
  const isText = reply.body === undefined;
  const payload = isText ? (reply.text ?? "") : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    "content-type": isText ? "text/plain; charset=utf-8" : "application/json",
    vary: "Accept-Encoding",
    ...reply.headers,
  });
  res.end(payload);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      data += chunk;
    });
    req.on("end", () => resolve(data));
    req.on("error", reject);
  });
}

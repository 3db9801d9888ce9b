// Server: Grafana 11.5.2, grafana/grafana. Follows: pkg/services/contexthandler (token and basic auth),
// pkg/api/response.
// The Grafana double as an HTTP server: routes.ts answers; this file adds authentication (service
// account token as Bearer, or basic auth; /api/health needs none), request and write counters, and
// outage scripting (refuse connections, database failing, stall, fail the next N requests).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Listener } from "../listener.ts";
import { health, type Reply, route, routeTemplate } from "./routes.ts";
import { GrafanaState } from "./state.ts";

export interface GrafanaDoubleOptions {
  host?: string;
  port?: number;
  /** Require `Authorization: Bearer <token>` (a service account token). */
  token?: string;
  /** Accept basic auth with these credentials (alone or besides the token). */
  basic?: { user: string; password: string };
  state?: GrafanaState;
}

/** none; refuse: port closed; database: /api/health 503 and API 500; stall: never answers. */
export type GrafanaOutage = "none" | "refuse" | "database" | "stall";

export class GrafanaDouble {
  readonly state: GrafanaState;
  readonly requests = new Map<string, number>();
  /** The last 1000 requests with a body (method, path, parsed body), oldest first, for contract checks. */
  readonly recorded: { method: string; path: string; body: unknown }[] = [];
  readonly #options: GrafanaDoubleOptions;
  readonly #listener: Listener;
  #outage: GrafanaOutage = "none";
  #failures: { remaining: number; status: number; message: string } | undefined;

  constructor(options: GrafanaDoubleOptions = {}) {
    this.#options = options;
    this.state = options.state ?? new GrafanaState();
    this.#listener = new Listener(options.host ?? "127.0.0.1", options.port ?? 0, () =>
      createServer((req, res) => {
        void this.#handle(req, res);
      }),
    );
  }

  get url(): string {
    return this.#listener.url();
  }

  /** Write requests received (POST, PATCH, PUT, DELETE), answered or not. */
  get writes(): number {
    let total = 0;
    for (const [key, count] of this.requests) if (!key.startsWith("GET ")) total += count;
    return total;
  }

  async start(): Promise<this> {
    await this.#listener.listen();
    return this;
  }

  async setOutage(mode: GrafanaOutage): Promise<void> {
    const previous = this.#outage;
    this.#outage = mode;
    if (previous === "stall" && mode !== "stall") this.#listener.release();
    if (mode === "refuse" && this.#listener.listening) await this.#listener.close();
    if (mode !== "refuse" && !this.#listener.listening) await this.#listener.listen();
  }

  /** The next `count` API requests answer `status` with {"message"}. */
  failNext(count: number, status = 500, message = "Internal Server Error"): void {
    this.#failures = { remaining: count, status, message };
  }

  async close(): Promise<void> {
    this.#listener.release();
    await this.#listener.close();
  }

  #record(method: string, path: string, body: unknown): void {
    this.recorded.push({ method, path, body });
    if (this.recorded.length > 1000) this.recorded.shift();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://grafana");
    const method = req.method ?? "GET";
    const key = routeTemplate(method, url.pathname);
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    if (this.#outage === "stall") {
      this.#listener.hold(res);
      return;
    }
    if (url.pathname === "/api/health" && method === "GET")
      return send(res, health(this.#outage !== "database"));
    if (this.#outage === "database")
      return send(res, { status: 500, body: { message: "Internal Server Error" } });
    if (this.#failures && this.#failures.remaining > 0) {
      this.#failures.remaining--;
      return send(res, { status: this.#failures.status, body: { message: this.#failures.message } });
    }
    const denied = this.#authenticate(req);
    if (denied) return send(res, denied);
    const raw = await readBody(req);
    let body: unknown;
    if (raw !== "") {
      try {
        body = JSON.parse(raw);
      } catch {
        return send(res, { status: 400, body: { message: "bad request data" } });
      }
      this.#record(method, url.pathname, body);
    }
    send(res, route(this.state, method, url, body));
  }

  #authenticate(req: IncomingMessage): Reply | undefined {
    const { token, basic } = this.#options;
    if (token === undefined && basic === undefined) return undefined;
    const header = req.headers.authorization ?? "";
    const bearer = /^Bearer\s+(.+)$/i.exec(header)?.[1];
    if (bearer !== undefined) {
      return bearer === token ? undefined : { status: 401, body: { message: "Invalid API key" } };
    }
    const encoded = /^Basic\s+(.+)$/i.exec(header)?.[1];
    if (encoded !== undefined && basic) {
      const decoded = Buffer.from(encoded, "base64").toString("utf8");
      return decoded === `${basic.user}:${basic.password}`
        ? undefined
        : { status: 401, body: { message: "Invalid username or password" } };
    }
    return { status: 401, body: { message: "Unauthorized" } };
  }
}

export async function startGrafanaDouble(options: GrafanaDoubleOptions = {}): Promise<GrafanaDouble> {
  return new GrafanaDouble(options).start();
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(reply.status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(reply.body));
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

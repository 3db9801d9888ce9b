// The operator's HTTP server (`--metrics-addr`, default 127.0.0.1:9464): /metrics (Prometheus text
// format from the one registry), /healthz (the process answers), /readyz (200 once the composition
// root marks the operator ready and no check reports a reason, else 503 with one line per reason;
// `degraded:` lines name what is down without making it 503), plus routes other modules add, such as
// Prometheus HTTP service discovery: `server.route("GET", "/sd/prometheus", handler)`.
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { OperatorError } from "../api/errors.ts";
import { silentLogger } from "./logger.ts";
import { registry as operatorRegistry } from "./metrics.ts";
import { ChunkPool, PIECE_CHARS, TextRegistry } from "./resource-families.ts";

// node:http by require, not as an ES module: importing it as one makes Node read every export of
// its namespace, and the getter of `http.WebSocket` loads the undici Node bundles (0.75 MB of source,
// compiled and run at start), which nothing here uses (src/clients/undici.ts is the HTTP client).
const { createServer } = createRequire(import.meta.url)("node:http") as typeof import("node:http");

export const DEFAULT_METRICS_ADDR = "127.0.0.1:9464";

/** Request bodies larger than this are refused with 413 (no route reads more than a few bytes). */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Connections open at once; more are closed at accept (a scraper needs one, a person a few). */
export const MAX_CONNECTIONS = 128;

/** Handles one request; `url` is the parsed request URL (path and query). Throwing answers 500. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

export interface ServerOptions {
  /** `HOST:PORT`, `:PORT` (every interface) or `[IPv6]:PORT`; port 0 picks a free one. */
  readonly address?: string;
  /** Registry served on /metrics. Default: the operator's (src/observability/metrics.ts). */
  readonly registry?: Registry;
  readonly log?: Logger;
  /** Default MAX_BODY_BYTES. */
  readonly maxBodyBytes?: number;
  /** Default MAX_CONNECTIONS. */
  readonly maxConnections?: number;
}

export interface ListenAddress {
  /** Undefined for every interface. */
  readonly host: string | undefined;
  readonly port: number;
}

/** Parses `--metrics-addr`; throws a terminal `InvalidAddress` error naming the flag and the value. */
export function parseListenAddress(address: string): ListenAddress {
  const colon = address.lastIndexOf(":");
  const portText = address.slice(colon + 1);
  let host = colon < 0 ? "" : address.slice(0, colon);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  const port = Number(portText);
  if (colon < 0 || !/^\d{1,5}$/.test(portText) || port > 65_535 || /[\s[\]/]/.test(host)) {
    throw new OperatorError(
      "InvalidAddress",
      `--metrics-addr "${address}": expected HOST:PORT such as ${DEFAULT_METRICS_ADDR} or :9464`,
      { terminal: true },
    );
  }
  return { host: host === "" ? undefined : host, port };
}

export class OperatorServer {
  readonly #server: Server;
  readonly #address: string;
  readonly #registry: Registry;
  readonly #log: Logger;
  readonly #routes = new Map<string, Map<string, RouteHandler>>();
  #notReady: string | undefined = "starting: the first complete read of the sources is not done yet";
  readonly #checks: (() => readonly string[])[] = [];
  readonly #degraded: (() => readonly string[])[] = [];
  #bound: string | undefined;
  readonly #maxBodyBytes: number;
  readonly #chunks = new ChunkPool();
  #afterMetrics: () => void = () => {};

  constructor(options: ServerOptions = {}) {
    this.#address = options.address ?? DEFAULT_METRICS_ADDR;
    parseListenAddress(this.#address);
    this.#registry = options.registry ?? operatorRegistry;
    this.#log = options.log ?? silentLogger();
    this.#maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
    this.#server = createServer((req, res) => {
      if (this.#refuseLargeBody(req, res)) return;
      this.#handle(req, res).catch(() => res.destroy());
    });
    // Bounded: connections at once, time to send headers and a whole request, idle keep-alive.
    this.#server.maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
    this.#server.headersTimeout = 10_000;
    this.#server.requestTimeout = 30_000;
    this.#server.keepAliveTimeout = 5_000;
    this.#server.setTimeout(60_000, (socket) => socket.destroy());
    // Errors while listening reject listen() (one line for the user); later ones are logged.
    this.#server.on("error", (error) => {
      if (this.#server.listening) this.#log.error({ err: error }, `metrics server ${this.#address} failed`);
    });
    this.route("GET", "/metrics", (_req, res) => this.#metrics(res).finally(() => this.#afterMetrics()));
    this.route("GET", "/healthz", (_req, res) => text(res, 200, "ok\n"));
    this.route("GET", "/readyz", (_req, res) => {
      const reasons = this.notReadyReasons();
      const degraded = this.#degraded.flatMap((check) => check()).map((r) => `degraded: ${r}\n`);
      if (reasons.length === 0) text(res, 200, `ok\n${degraded.join("")}`);
      else text(res, 503, [...reasons.map((r) => `not ready: ${r}\n`), ...degraded].join(""));
    });
  }

  /** Adds a route (exact path; GET routes also answer HEAD). Throws if the method and path are taken. */
  route(method: string, path: string, handler: RouteHandler): this {
    const verb = method.toUpperCase();
    if (!path.startsWith("/"))
      throw new Error(`metrics server: route path must start with "/", got "${path}"`);
    const methods = this.#routes.get(path) ?? new Map<string, RouteHandler>();
    if (methods.has(verb)) throw new Error(`metrics server: route ${verb} ${path} is already taken`);
    methods.set(verb, handler);
    this.#routes.set(path, methods);
    return this;
  }

  /** Calls `listener` after each /metrics answer (written whole or given up). */
  afterMetrics(listener: () => void): this {
    this.#afterMetrics = listener;
    return this;
  }

  /** /readyz answers 200 from now on. */
  markReady(): void {
    this.#notReady = undefined;
  }

  /** /readyz answers 503 with `reason` (for example "source directory /x is unreadable"). */
  markNotReady(reason: string): void {
    this.#notReady = reason;
  }

  /** Adds a check: while it returns reasons (such as "nomad http://…: NomadUnavailable: …"), /readyz is 503. */
  readyWhen(check: () => readonly string[]): void {
    this.#checks.push(check);
  }

  /** Adds a check whose reasons /readyz lists as `degraded:` lines without answering 503 (Grafana down). */
  degradedWhen(check: () => readonly string[]): void {
    this.#degraded.push(check);
  }

  /** Every reason /readyz is 503 now, one a line (none: ready). */
  notReadyReasons(): string[] {
    const reasons = this.#notReady === undefined ? [] : [this.#notReady];
    for (const check of this.#checks) reasons.push(...check());
    return reasons;
  }

  get ready(): boolean {
    return this.notReadyReasons().length === 0;
  }

  /** Starts listening; resolves with the bound address (`127.0.0.1:43121`, `[::]:9464`). */
  listen(): Promise<string> {
    const { host, port } = parseListenAddress(this.#address);
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => {
        reject(
          new OperatorError(
            "ListenFailed",
            `--metrics-addr ${this.#address}: cannot listen: ${error.message}`,
            {
              cause: error,
            },
          ),
        );
      };
      this.#server.once("error", onError);
      this.#server.listen(host === undefined ? { port } : { port, host }, () => {
        this.#server.off("error", onError);
        const bound = this.#server.address() as AddressInfo;
        this.#bound =
          bound.family === "IPv6" ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`;
        this.#log.info({ address: this.#bound }, `metrics server listening on http://${this.#bound}`);
        resolve(this.#bound);
      });
    });
  }

  /** The bound address once listening. */
  get address(): string | undefined {
    return this.#bound;
  }

  /** Stops accepting connections, closes idle keep-alive ones at once and busy ones after 1 s. */
  close(): Promise<void> {
    if (!this.#server.listening) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const force = setTimeout(() => this.#server.closeAllConnections(), 1_000);
      force.unref();
      this.#server.close((error) => {
        clearTimeout(force);
        this.#bound = undefined;
        if (error) reject(error);
        else resolve();
      });
      this.#server.closeIdleConnections();
    });
  }

  /**
   * A body over the limit is answered 413 and the connection closed, without reading it: by its
   * Content-Length up front, or (chunked) once the bytes counted so far pass the limit. Smaller
   * bodies are left to the route (none reads one; Node discards the rest).
   */
  #refuseLargeBody(req: IncomingMessage, res: ServerResponse): boolean {
    const refuse = (): void => {
      if (!res.headersSent) {
        res.writeHead(413, { "content-type": "text/plain; charset=utf-8", connection: "close" });
        res.end(`request body over ${this.#maxBodyBytes} bytes\n`, () => req.socket.destroy());
      } else req.socket.destroy();
    };
    const length = Number(req.headers["content-length"] ?? 0);
    if (Number.isFinite(length) && length > this.#maxBodyBytes) {
      req.pause();
      refuse();
      return true;
    }
    if (req.headers["transfer-encoding"] !== undefined) {
      let seen = 0;
      req.on("data", (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > this.#maxBodyBytes) {
          req.pause();
          refuse();
        }
      });
    }
    return false;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://operator.invalid");
    } catch {
      text(res, 400, "bad request\n");
      return;
    }
    const methods = this.#routes.get(url.pathname);
    if (methods === undefined) {
      text(res, 404, `not found: ${url.pathname}\n`);
      return;
    }
    const method = req.method ?? "GET";
    const handler = methods.get(method) ?? (method === "HEAD" ? methods.get("GET") : undefined);
    if (handler === undefined) {
      const allow = [...methods.keys()];
      if (allow.includes("GET")) allow.push("HEAD");
      res.setHeader("allow", allow.join(", "));
      text(res, 405, `method ${method} not allowed on ${url.pathname}\n`);
      return;
    }
    try {
      await handler(req, res, url);
    } catch (error) {
      this.#log.error(
        { err: error, path: url.pathname },
        `metrics server: handler for ${method} ${url.pathname} failed`,
      );
      if (res.headersSent) res.destroy();
      else text(res, 500, "internal error\n");
    }
  }

  /**
   * The registry's text, written as it is made (a TextRegistry's pieces: prom-client's text gathered
   * to PIECE_CHARS, a ResourceFamily's chunks in the server's pooled buffers, each given back once
   * the socket has written it), waiting for the client to read.
   */
  async #metrics(res: ServerResponse): Promise<void> {
    const registry = this.#registry;
    const head = { "content-type": registry.contentType, "cache-control": "no-store" };
    if (!(registry instanceof TextRegistry)) {
      const body = await registry.metrics();
      res.writeHead(200, head);
      res.end(body);
      return;
    }
    const chunks = this.#chunks;
    let pending = "";
    for await (const piece of registry.pieces(chunks.take)) {
      if (res.destroyed) return; // the client went
      if (!res.headersSent) res.writeHead(200, head); // after the first piece: a failure before it is a 500
      let written: boolean;
      if (typeof piece === "string") {
        pending += piece;
        if (pending.length < PIECE_CHARS) continue;
        written = res.write(pending);
      } else {
        if (pending !== "") res.write(pending);
        written = res.write(piece, () => chunks.give(piece));
      }
      pending = "";
      if (!written) await drained(res);
    }
    if (!res.destroyed) res.end(pending);
  }
}

/** Resolves when `res` can take more, or is closed (at once when it is destroyed already). */
function drained(res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
  res.end(body);
}

// The listening half every API double shares: bind (port 0 picks one, kept across restarts so a
// "refuse" outage and its recovery keep the address), track sockets, and close hard (destroying
// keep-alive connections, as a crashed server would). Node built-ins only.
import type { Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

export class Listener {
  readonly host: string;
  readonly #make: () => Server;
  readonly #sockets = new Set<Socket>();
  readonly #held = new Set<ServerResponse>();
  #server: Server | undefined;
  #port: number;

  constructor(host: string, port: number, make: () => Server) {
    this.host = host;
    this.#port = port;
    this.#make = make;
  }

  get port(): number {
    return this.#port;
  }

  get listening(): boolean {
    return this.#server !== undefined;
  }

  /** http://host:port (brackets around an IPv6 host). */
  url(scheme = "http"): string {
    return `${scheme}://${this.host.includes(":") ? `[${this.host}]` : this.host}:${this.#port}`;
  }

  listen(): Promise<void> {
    const server = this.#make();
    server.on("connection", (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#port, this.host, () => {
        const address = server.address();
        if (address && typeof address === "object") this.#port = address.port;
        resolve();
      });
    });
  }

  /** A "stall" outage: keep the request unanswered until release() or close(). */
  hold(res: ServerResponse): void {
    this.#held.add(res);
  }

  /** Drops every held request's connection, as a server recovering from a stall would. */
  release(): void {
    for (const res of this.#held) res.socket?.destroy();
    this.#held.clear();
  }

  async close(): Promise<void> {
    this.release();
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await closed;
  }
}

/** `--listen HOST:PORT` of a standalone double (an empty host or [::] forms allowed); exits 2 when malformed. */
export function parseListen(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(":");
  const host = listen.slice(0, colon).replace(/^\[|\]$/g, "") || "0.0.0.0";
  const port = Number(listen.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port)) {
    process.stderr.write(`--listen must be HOST:PORT (got ${JSON.stringify(listen)})\n`);
    process.exit(2);
  }
  return { host, port };
}

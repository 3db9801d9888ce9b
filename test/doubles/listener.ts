// The listening half every API double shares: bind (port 0 picks one, kept across restarts so a
// "refuse" outage and its recovery keep the address), track sockets, and close hard (destroying
// keep-alive connections, as a crashed server would). Node built-ins only.
import type { Server } from "node:http";
import type { Socket } from "node:net";

export class Listener {
  readonly host: string;
  readonly #make: () => Server;
  readonly #sockets = new Set<Socket>();
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

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await closed;
  }
}

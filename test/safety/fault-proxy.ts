// A loopback HTTP proxy that breaks on demand, in front of a double or the Docker socket (as
// DOCKER_HOST=tcp://…), so an outage never touches the shared engine: `refuse` stops listening and
// drops every connection, `error` answers 503, `hang` holds requests unanswered (past any client
// timeout) until the mode changes, and `failRate` fails that share of requests at random (seeded)
// with 503 while passing the rest. Streams (event streams, blocking queries) pass through.
import { createServer, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { type Random, seeded } from "./random.ts";

export type FaultMode = "none" | "refuse" | "error" | "hang";

export interface FaultProxy {
  /** http://127.0.0.1:PORT (fixed across refuse and recovery). */
  readonly url: string;
  readonly port: number;
  /** Requests answered with a failure (error, failRate) so far. */
  readonly failed: number;
  readonly forwarded: number;
  setMode(mode: FaultMode): Promise<void>;
  /** Fails this share of requests (0 to 1) with 503, chosen by a generator seeded with `seed`. */
  setFailRate(rate: number, seed?: number): void;
  close(): Promise<void>;
}

export async function faultProxy(target: { url: string } | { socketPath: string }): Promise<FaultProxy> {
  const base = "url" in target ? new URL(target.url) : undefined;
  const sockets = new Set<Socket>();
  const held = new Set<ServerResponse>();
  let mode: FaultMode = "none";
  let rate = 0;
  let random: Random = seeded(1);
  let failed = 0;
  let forwarded = 0;
  const server: Server = createServer((req, res) => {
    if (mode === "hang") {
      held.add(res);
      return;
    }
    if (mode === "error" || (rate > 0 && random() < rate)) {
      failed++;
      req.resume();
      res.writeHead(503, { "content-type": "text/plain" });
      res.end("No cluster leader\n");
      return;
    }
    forwarded++;
    const upstream = request(
      {
        method: req.method,
        path: req.url,
        headers: { ...req.headers, ...(base ? { host: base.host } : {}) },
        ...(base
          ? { host: base.hostname, port: Number(base.port) }
          : { socketPath: (target as { socketPath: string }).socketPath }),
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      if (server.listening) server.close(() => resolve());
      else resolve();
    });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get failed() {
      return failed;
    },
    get forwarded() {
      return forwarded;
    },
    async setMode(next) {
      const previous = mode;
      mode = next;
      if (next === "refuse") await stop();
      if (previous === "refuse" && next !== "refuse") await listen(port);
      if (next !== "hang") {
        for (const res of held) res.destroy();
        held.clear();
      }
    },
    setFailRate(share, seed = 1) {
      rate = share;
      random = seeded(seed);
    },
    close: async () => {
      for (const res of held) res.destroy();
      await stop();
    },
  };
}

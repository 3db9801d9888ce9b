// A counting proxy on loopback: forwards every request to a target (an HTTP base URL or a unix
// socket such as Docker's) and counts requests by method and path, so a benchmark can tell how
// many write calls a process made to Nomad, Consul, Grafana or Docker. Streams (event streams,
// blocking queries) pass through untouched.
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { onCleanup } from "./cleanup.ts";

export interface CountingProxy {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** "METHOD /path" (query dropped, ids kept) → count, since the last reset(). */
  readonly counts: Map<string, number>;
  /** POST, PUT, PATCH and DELETE requests since the last reset(), plan requests (POST …/plan) excepted. */
  writes(): number;
  reset(): void;
  close(): Promise<void>;
}

const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export async function countingProxy(
  target: { url: string } | { socketPath: string },
): Promise<CountingProxy> {
  const counts = new Map<string, number>();
  const base = "url" in target ? new URL(target.url) : undefined;
  const sockets = new Set<import("node:net").Socket>();
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const key = `${req.method} ${path}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
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
    upstream.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`bench proxy: ${error.message}`);
    });
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const close = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  const undo = onCleanup(close);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    writes() {
      let total = 0;
      for (const [key, n] of counts) {
        const [method = "", path = ""] = key.split(" ");
        if (WRITES.has(method) && !path.endsWith("/plan")) total += n;
      }
      return total;
    },
    reset: () => counts.clear(),
    close: undo,
  };
}

/** The write requests among the counts, as "METHOD /path ×n" lines (ids folded into ":id"). */
export function writeSummary(counts: ReadonlyMap<string, number>): string[] {
  const folded = new Map<string, number>();
  for (const [key, n] of counts) {
    const [method = "", path = ""] = key.split(" ");
    if (!WRITES.has(method)) continue;
    const template = path.replace(/\/(job|containers|service\/deregister|annotations)\/[^/]+/, "/$1/:id");
    folded.set(`${method} ${template}`, (folded.get(`${method} ${template}`) ?? 0) + n);
  }
  return [...folded].map(([key, n]) => `${key} ×${n}`);
}

/** Every request among the counts by "METHOD /path" with ids folded into ":id", most frequent first. */
export function routeSummary(counts: ReadonlyMap<string, number>): [string, number][] {
  const folded = new Map<string, number>();
  for (const [key, n] of counts) {
    const template = key.replace(/\/(job|containers|service\/deregister|annotations)\/[^/]+/, "/$1/:id");
    folded.set(template, (folded.get(template) ?? 0) + n);
  }
  return [...folded].sort((a, b) => b[1] - a[1]);
}

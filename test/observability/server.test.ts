import { request } from "node:http";
import { Gauge } from "prom-client";
import { afterEach, describe, expect, it, vi } from "vitest";
import { OperatorError } from "../../src/api/errors.ts";
import type { AnyResource } from "../../src/api/resources.ts";
import { reconcileTotal } from "../../src/observability/metrics.ts";
import { ResourceFamily, TextRegistry } from "../../src/observability/resource-families.ts";
import { OperatorServer, parseListenAddress } from "../../src/observability/server.ts";
import { trainingJob } from "../trainingjob/builders.ts";

const servers: OperatorServer[] = [];
async function started(configure: (server: OperatorServer) => void = () => {}) {
  const server = new OperatorServer({ address: "127.0.0.1:0" });
  servers.push(server);
  configure(server);
  const address = await server.listen();
  return { server, base: `http://${address}` };
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe("parseListenAddress", () => {
  it.each([
    ["127.0.0.1:9464", { host: "127.0.0.1", port: 9464 }],
    [":9464", { host: undefined, port: 9464 }],
    ["0.0.0.0:0", { host: "0.0.0.0", port: 0 }],
    ["[::1]:8080", { host: "::1", port: 8080 }],
    ["localhost:65535", { host: "localhost", port: 65535 }],
  ])("%s → %o", (address, expected) => {
    expect(parseListenAddress(address)).toEqual(expected);
  });

  it.each([
    "9464",
    "127.0.0.1",
    "127.0.0.1:",
    "127.0.0.1:65536",
    "host:-1",
    "host:http",
    "a b:80",
    "http://x:80",
  ])("rejects %s with InvalidAddress naming the flag", (address) => {
    let error: unknown;
    try {
      parseListenAddress(address);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OperatorError);
    expect(error).toMatchObject({ reason: "InvalidAddress", terminal: true });
    expect((error as Error).message).toContain(`--metrics-addr "${address}"`);
  });
});

/** GETs `url` and closes the connection once the first bytes of the body arrive. */
function readFirstBytesAndGo(url: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const req = request(url, (res) => {
      res.once("data", () => {
        req.destroy();
        resolve();
      });
    }).on("error", (error) =>
      (error as NodeJS.ErrnoException).code === "ECONNRESET" ? resolve() : reject(error),
    );
    req.end();
  });
}

/** `registry` with a family of one series for each of `count` TrainingJobs. */
function withJobs<R extends TextRegistry>(registry: R, count: number): R {
  const family = new ResourceFamily({
    name: "test_resource_info",
    help: "one per resource",
    labelNames: ["name"],
    kinds: ["TrainingJob"],
    series: (r, labels) => {
      labels[0] = r.metadata.name;
      return 1;
    },
  });
  const jobs = Array.from({ length: count }, (_, i) => trainingJob({}, 1, `job-${i}`) as AnyResource);
  family.observe(() => jobs);
  registry.registerMetric(family as never);
  return registry;
}

/** A server of `registry` on a free port (closed after the test); its base URL. */
async function serving(registry: TextRegistry): Promise<string> {
  const server = new OperatorServer({ address: "127.0.0.1:0", registry });
  servers.push(server);
  return `http://${await server.listen()}`;
}

/** GET `url`, reading the answer only `lateMs` after its head came. */
function readLate(url: string, lateMs: number): Promise<{ body: string; chunked: string | undefined }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      res.pause();
      setTimeout(() => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ body, chunked: res.headers["transfer-encoding"] }));
        res.resume();
      }, lateMs);
    })
      .on("error", reject)
      .end();
  });
}

/** Counts the texts the server stopped making, written to the end or given up. */
class EndCountingRegistry extends TextRegistry {
  ended = 0;
  override async *pieces(take?: () => Buffer): AsyncGenerator<string | Uint8Array> {
    try {
      yield* super.pieces(take);
    } finally {
      this.ended++;
    }
  }
}

describe("OperatorServer", () => {
  it("binds a free port when asked for port 0 and reports the bound address", async () => {
    const { server, base } = await started();
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(base).not.toMatch(/:0$/);
    expect(server.address).toBe(base.slice("http://".length));
  });

  it("answers /healthz while alive, and /readyz 503 with the reason until marked ready", async () => {
    const { server, base } = await started();
    const health = await fetch(`${base}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, "ok\n"]);
    const starting = await fetch(`${base}/readyz`);
    expect(starting.status).toBe(503);
    expect(await starting.text()).toMatch(/^not ready: starting/);
    server.markReady();
    const ready = await fetch(`${base}/readyz`);
    expect([ready.status, await ready.text(), server.ready]).toEqual([200, "ok\n", true]);
    server.markNotReady("source directory /srv/gitops is unreadable");
    const lost = await fetch(`${base}/readyz`);
    expect([lost.status, await lost.text()]).toEqual([
      503,
      "not ready: source directory /srv/gitops is unreadable\n",
    ]);
  });

  it("serves the operator's registry on /metrics in the Prometheus text format", async () => {
    reconcileTotal.labels({ controller: "server-test", result: "success" }).inc(3);
    const { base } = await started();
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const body = await res.text();
    expect(body).toContain('controller_runtime_reconcile_total{controller="server-test",result="success"} 3');
    expect(body).toContain("# TYPE workqueue_depth gauge");
    expect(body).toContain("process_resident_memory_bytes");
  });

  it("writes a large registry as it is made, whole to a client that reads late, and goes on after one that left", async () => {
    const registry = new EndCountingRegistry();
    new Gauge({ name: "test_plain", help: "plain", registers: [registry] }).set(7);
    const base = await serving(withJobs(registry, 40_000));
    const expected = await registry.metrics();
    expect(expected.length).toBeGreaterThan(1_000_000);
    // Read 300 ms late: the server waits for the client (the socket's buffers hold less than this).
    expect(await readLate(`${base}/metrics`, 300)).toEqual({ body: expected, chunked: "chunked" });
    // A client that goes after the first bytes: the server stops writing (its text is not made to
    // the end) and answers the next one.
    await readFirstBytesAndGo(`${base}/metrics`);
    await vi.waitFor(() => expect(registry.ended).toBe(2));
    const again = await fetch(`${base}/metrics`);
    expect([again.status, (await again.text()) === expected]).toEqual([200, true]);
  });

  it("answers scrapes at once, each with the whole text, though they share the server's chunks", async () => {
    const registry = withJobs(new TextRegistry(), 20_000);
    const base = await serving(registry);
    const expected = await registry.metrics();
    // Clients that read at once and late, interleaved: a chunk reused before the socket had written
    // it would show as another scrape's lines.
    const read = await Promise.all([0, 50, 0, 120, 10, 0].map((ms) => readLate(`${base}/metrics`, ms)));
    expect(read.map(({ body }) => body === expected)).toEqual(read.map(() => true));
  });

  it("stops making the text for a client that went between two pieces", async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const registry = new (class extends EndCountingRegistry {
      override async *pieces(): AsyncGenerator<string | Uint8Array> {
        try {
          yield `# ${"a".repeat(20_000)}\n`;
          await gate; // the client reads the first piece and goes meanwhile
          yield `# ${"b".repeat(20_000)}\n`;
          yield `# ${"c".repeat(20_000)}\n`;
        } finally {
          this.ended++;
        }
      }
    })();
    const server = new OperatorServer({ address: "127.0.0.1:0", registry });
    servers.push(server);
    const base = `http://${await server.listen()}`;
    await readFirstBytesAndGo(`${base}/metrics`);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the server has seen the socket close
    release();
    await vi.waitFor(() => expect(registry.ended).toBe(1));
  });

  it("takes routes from others, with query strings, HEAD for GET, 405 and 404", async () => {
    const { server, base } = await started((s) =>
      s.route("GET", "/sd/prometheus", (_req, res, url) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify([{ targets: ["10.0.0.1:9100"], labels: { q: url.searchParams.get("stack") } }]),
        );
      }),
    );
    const sd = await fetch(`${base}/sd/prometheus?stack=ml`);
    expect(sd.status).toBe(200);
    expect(await sd.json()).toEqual([{ targets: ["10.0.0.1:9100"], labels: { q: "ml" } }]);
    const head = await fetch(`${base}/sd/prometheus`, { method: "HEAD" });
    expect([head.status, await head.text()]).toEqual([200, ""]);
    const post = await fetch(`${base}/metrics`, { method: "POST" });
    expect([post.status, post.headers.get("allow")]).toEqual([405, "GET, HEAD"]);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect(() => server.route("GET", "/sd/prometheus", () => {})).toThrow(/already taken/);
    server.route("POST", "/sd/prometheus", (_req, res) => {
      res.end("posted");
    });
    expect(await (await fetch(`${base}/sd/prometheus`, { method: "POST" })).text()).toBe("posted");
  });

  it("answers 500 when a route's handler throws, and keeps serving", async () => {
    const { base } = await started((s) =>
      s.route("GET", "/boom", async () => {
        throw new Error("handler bug");
      }),
    );
    const res = await fetch(`${base}/boom`);
    expect([res.status, await res.text()]).toEqual([500, "internal error\n"]);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it("fails to listen on a taken port with ListenFailed naming the address", async () => {
    const { base } = await started();
    const taken = base.slice("http://".length);
    const second = new OperatorServer({ address: taken });
    await expect(second.listen()).rejects.toMatchObject({
      reason: "ListenFailed",
      message: expect.stringContaining(`--metrics-addr ${taken}: cannot listen`),
    });
  });

  it("closes promptly with a keep-alive connection open, and refuses connections after", async () => {
    const { server, base } = await started();
    const agentResponse = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/healthz`, { headers: { connection: "keep-alive" } }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("error", reject);
      req.end();
    });
    expect(agentResponse).toBe(200);
    const closing = performance.now();
    await server.close();
    expect(performance.now() - closing).toBeLessThan(500);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    await server.close();
  });
});

// The operator loads two of undici's files instead of its entry module (src/clients/undici.ts):
// they must be the very objects the entry module exports, requests must behave as undici's
// `request(url, options)` does, and the HTTP clients must not load the entry module after all.
import { execFileSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { Agent, request } from "../../src/clients/undici.ts";

const undici = createRequire(import.meta.url)("undici") as typeof import("undici");

let server: Server | undefined;
afterEach(async () => {
  const open = server;
  server = undefined;
  if (!open) return;
  open.closeAllConnections();
  await new Promise((resolve) => open.close(resolve));
});

/** Answers each request with its method, path and body, as JSON. */
async function echo(): Promise<string> {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on("end", () => {
      res.writeHead(201, { "content-type": "application/json", "x-echo": "yes" });
      res.end(JSON.stringify({ method: req.method, url: req.url, body }));
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return `http://127.0.0.1:${address.port}`;
}

describe("undici, two files of it", () => {
  it("exports undici's own Agent", () => {
    expect(Agent).toBe(undici.Agent);
    expect(new Agent()).toBeInstanceOf(undici.Dispatcher);
  });

  it("sends the method, path, query and body of a URL string through its own Agent, not the global one", async () => {
    const base = await echo();
    // Node sets the global dispatcher to its bundled undici's Agent once node:http is imported as
    // an ES module; a request that names no dispatcher must not go there.
    const slot = Symbol.for("undici.globalDispatcher.2");
    const global = globalThis as unknown as Record<symbol, unknown>;
    const before = global[slot];
    const used: string[] = [];
    global[slot] = {
      dispatch() {
        used.push("global");
        throw new Error("the global dispatcher was used");
      },
    };
    try {
      const response = await request(`${base}/ping`, { method: "GET" });
      expect(response.statusCode).toBe(201);
      await response.body.dump();
    } finally {
      global[slot] = before;
    }
    expect(used).toEqual([]);
    const response = await request(`${base}/v1/jobs?namespace=team-a&index=3`, {
      method: "POST",
      body: Buffer.from('{"a":1}'),
      headers: { "content-type": "application/json" },
    });
    expect(response.statusCode).toBe(201);
    expect(response.headers["x-echo"]).toBe("yes");
    expect(await response.body.json()).toEqual({
      method: "POST",
      url: "/v1/jobs?namespace=team-a&index=3",
      body: '{"a":1}',
    });
  });

  it("sends a URL object through the dispatcher it is given", async () => {
    const base = await echo();
    const agent = new Agent();
    const dispatched: string[] = [];
    const counting = agent.compose((dispatch) => (options, handler) => {
      dispatched.push(`${options.method} ${options.path}`);
      return dispatch(options, handler);
    });
    try {
      const response = await request(new URL(`${base}/v1/event/stream?topic=Job`), {
        method: "GET",
        dispatcher: counting,
      });
      expect(await response.body.json()).toMatchObject({ method: "GET", url: "/v1/event/stream?topic=Job" });
      expect(dispatched).toEqual(["GET /v1/event/stream?topic=Job"]);
    } finally {
      await agent.close();
    }
  });

  it("keeps undici's timeouts and their error codes", async () => {
    server = createServer(() => {
      // never answers
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    const agent = new Agent();
    try {
      await expect(
        request(`http://127.0.0.1:${address.port}/`, {
          method: "GET",
          headersTimeout: 100,
          dispatcher: agent,
        }),
      ).rejects.toMatchObject({ code: "UND_ERR_HEADERS_TIMEOUT" });
    } finally {
      await agent.destroy();
    }
  });

  it("is all the HTTP clients load: undici's entry module stays unloaded", () => {
    const script = [
      'await import("./src/clients/http.ts");',
      'await import("./src/clients/nomad/index.ts");',
      'const { createRequire } = await import("node:module");',
      "const cache = createRequire(import.meta.url).cache;",
      "const files = Object.keys(cache).filter((f) => f.includes('/node_modules/undici/'));",
      "console.log(JSON.stringify({ files: files.length, entry: files.some((f) => f.endsWith('/undici/index.js')) }));",
    ].join("\n");
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: new URL("../..", import.meta.url),
      encoding: "utf8",
    });
    const { files, entry } = JSON.parse(out) as { files: number; entry: boolean };
    expect(entry).toBe(false);
    expect(files).toBeGreaterThan(0);
    expect(files).toBeLessThan(40);
  });
});

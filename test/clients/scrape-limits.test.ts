// A run's metrics endpoint is scraped within its timeout even when it answers a byte at a time (the
// timeout bounds the whole scrape: HttpClient `deadline`), and a runaway page is not held in memory
// (HttpClient `maxBodyBytes`).
import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_SCRAPE_BYTES, scrapeMetrics } from "../../src/clients/prometheus/scrape.ts";

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** Serves a page at once, a page of `huge` bytes, or one byte every 50 ms (at most 200: bounded). */
async function endpoint(trickle: boolean, huge?: number): Promise<string> {
  server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    if (huge !== undefined) {
      res.end(`# ${"x".repeat(huge)}\nprogress_ratio 0.5\n`);
      return;
    }
    if (!trickle) {
      res.end("progress_ratio 0.5\n");
      return;
    }
    let sent = 0;
    const timer = setInterval(() => {
      if (res.destroyed || ++sent > 200) {
        clearInterval(timer);
        res.end();
        return;
      }
      res.write("#");
    }, 50);
    res.on("close", () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return `127.0.0.1:${address.port}`;
}

describe("scraping a run's metrics endpoint", () => {
  it("reads an endpoint that answers", async () => {
    const samples = await scrapeMetrics(await endpoint(false), "/metrics", new Set(["progress_ratio"]));
    expect(samples).toMatchObject([{ metric: { __name__: "progress_ratio" }, value: 0.5 }]);
  });

  it("gives up on one that trickles once the timeout is over", async () => {
    const address = await endpoint(true);
    const started = performance.now();
    const error = await scrapeMetrics(address, "/metrics", new Set(["progress_ratio"]), {
      timeoutMs: 300,
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toContain("request timed out");
    // A byte every 50 ms never trips a 300 ms wait between chunks: the whole scrape's deadline does.
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("does not read a page larger than the limit", async () => {
    const names = new Set(["progress_ratio"]);
    // Just under the limit: read.
    const under = await scrapeMetrics(await endpoint(false, MAX_SCRAPE_BYTES - 64), "/metrics", names);
    expect(under).toHaveLength(1);
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    const error = await scrapeMetrics(await endpoint(false, MAX_SCRAPE_BYTES), "/metrics", names).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/answered more than 8388608 bytes \(GET scrape\): not read/);
  });
});

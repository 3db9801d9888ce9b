// The operator's HTTP server under abuse (src/observability/server.ts): a body over 1 MiB is 413
// without being read (by Content-Length), a chunked one is cut off once it passes the limit, connections beyond the cap are
// closed at accept while /healthz keeps answering, and /readyz lists every reason with checks.
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { OperatorServer } from "../../src/observability/server.ts";

const servers: OperatorServer[] = [];
const sockets: Socket[] = [];
async function started(options: ConstructorParameters<typeof OperatorServer>[0] = {}) {
  const server = new OperatorServer({ address: "127.0.0.1:0", ...options });
  servers.push(server);
  const address = await server.listen();
  const [host, port] = [address.slice(0, address.lastIndexOf(":")), Number(address.split(":").at(-1))];
  return { server, base: `http://${address}`, host, port };
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** Sends raw bytes; resolves with everything the server answered before closing (or 2 s). */
function raw(port: number, head: string, body: (socket: Socket) => void = () => {}): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    sockets.push(socket);
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      answer += chunk;
    });
    socket.on("error", () => undefined);
    socket.on("close", () => resolve(answer));
    setTimeout(() => resolve(answer), 2_000);
    socket.write(head);
    body(socket);
  });
}

describe("OperatorServer limits", () => {
  it("answers 413 to a declared 100 MB body after reading only the headers, and closes the connection", async () => {
    const { port } = await started();
    const answer = await raw(
      port,
      "POST /metrics HTTP/1.1\r\nhost: x\r\ncontent-length: 104857600\r\n\r\n",
      (s) => s.write("x".repeat(1000)),
    );
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toContain("connection: close");
  });

  it("closes the connection of a chunked body once it passes the limit, instead of reading it all", async () => {
    const { port } = await started({ maxBodyBytes: 64 * 1024 });
    const chunk = "x".repeat(16 * 1024);
    let sent = 0;
    const answer = await raw(
      port,
      "POST /healthz HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n",
      (s) => {
        const send = (): void => {
          if (sent === 200 || s.destroyed || s.writableEnded) return;
          sent++;
          s.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`, (error) => {
            if (!error) setTimeout(send, 1);
          });
        };
        send(); // 3.2 MB if it were all read
      },
    );
    expect(answer).toMatch(/^HTTP\/1\.1 (405|413) /);
    expect(sent).toBeLessThan(200);
  });

  it("a small body is no problem", async () => {
    const { base } = await started();
    const response = await fetch(`${base}/healthz`, { method: "POST", body: "hello" });
    expect(response.status).toBe(405);
  });

  it("closes connections beyond the cap; /healthz answers once they go", async () => {
    const { base, port } = await started({ maxConnections: 8 });
    const held: Socket[] = [];
    for (let i = 0; i < 8; i++) {
      const s = connect(port, "127.0.0.1");
      sockets.push(s);
      held.push(s);
      await new Promise((resolve) => s.on("connect", resolve));
    }
    const extra = await raw(port, "GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n");
    expect(extra).toBe(""); // closed without an answer
    for (const s of held) s.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it("/readyz is 503 with one line per reason while a check reports any; degraded lines keep 200", async () => {
    const { server, base } = await started();
    let down: string[] = [];
    let degraded: string[] = [];
    server.readyWhen(() => down);
    server.degradedWhen(() => degraded);
    server.markReady();
    expect(await (await fetch(`${base}/readyz`)).text()).toBe("ok\n");
    degraded = ["grafana http://g: GrafanaUnavailable: refused"];
    const slow = await fetch(`${base}/readyz`);
    expect(slow.status).toBe(200);
    expect(await slow.text()).toBe("ok\ndegraded: grafana http://g: GrafanaUnavailable: refused\n");
    down = ["nomad http://n: NomadUnavailable: refused", "docker unix:///x: DockerUnavailable: gone"];
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.text()).toBe(
      "not ready: nomad http://n: NomadUnavailable: refused\nnot ready: docker unix:///x: DockerUnavailable: gone\ndegraded: grafana http://g: GrafanaUnavailable: refused\n",
    );
    expect(server.ready).toBe(false);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    down = [];
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });
});

// The operator's HTTP server, in a process of its own: serving /metrics does not load the undici
// that Node bundles (what an ES module import of node:http does, through `http.WebSocket`'s getter;
// src/clients/undici.ts is the operator's HTTP client).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const exec = promisify(execFile);
const SERVER = new URL("../../src/observability/server.ts", import.meta.url).href;

describe("the operator's HTTP server", () => {
  it("serves /metrics without loading Node's bundled undici", async () => {
    const script = `
      import { connect } from "node:net";
      const { OperatorServer } = await import(${JSON.stringify(SERVER)});
      const server = new OperatorServer({ address: "127.0.0.1:0" });
      const address = await server.listen();
      const body = await new Promise((resolve, reject) => {
        const socket = connect(Number(address.split(":").pop()), "127.0.0.1");
        let text = "";
        socket.on("data", (chunk) => { text += chunk; });
        socket.on("end", () => resolve(text));
        socket.on("error", reject);
        socket.write("GET /metrics HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n");
      });
      await server.close();
      process.stdout.write(JSON.stringify({
        status: body.split("\\r\\n")[0],
        undici: process.moduleLoadList.filter((m) => m.includes("undici")),
      }));
    `;
    const { stdout } = await exec(process.execPath, ["--input-type=module", "-e", script], {
      timeout: 30_000,
    });
    const result = JSON.parse(stdout) as { status: string; undici: string[] };
    expect(result.status).toBe("HTTP/1.1 200 OK");
    expect(result.undici).toEqual([]);
  });
});

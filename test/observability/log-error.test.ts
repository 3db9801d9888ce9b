// Errors in log lines (src/observability/log-error.ts through createLogger): one line with type,
// reason, code and message; no stack, no socket details, whatever the error carries.
import { createServer } from "node:net";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { OperatorError } from "../../src/api/errors.ts";
import { NomadClient } from "../../src/clients/nomad/index.ts";
import { errorForLog } from "../../src/observability/log-error.ts";
import { createLogger } from "../../src/observability/logger.ts";

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  return { log: createLogger({ destination, pretty: false, level: "info" }), lines };
}

/** A port on loopback that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("errors in log lines", () => {
  it.each([
    [
      "an undici-like socket error with a stack and a socket",
      Object.assign(new Error("other side closed\n    at Socket.onEnd (undici/lib/core.js:1:1)"), {
        code: "UND_ERR_SOCKET",
        socket: {
          localAddress: "127.0.0.1",
          localPort: 51234,
          remoteAddress: "127.0.0.1",
          bytesWritten: 123,
        },
      }),
      {
        type: "Error",
        code: "UND_ERR_SOCKET",
        message: "other side closed ⏎ at Socket.onEnd (undici/lib/core.js:1:1)",
      },
    ],
    [
      "an operator error with a cause",
      new OperatorError("NomadUnavailable", "Nomad at http://127.0.0.1:4646 is unreachable", {
        cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:4646"), { code: "ECONNREFUSED" }),
      }),
      {
        type: "OperatorError",
        reason: "NomadUnavailable",
        code: "ECONNREFUSED",
        message: "Nomad at http://127.0.0.1:4646 is unreachable: connect ECONNREFUSED 127.0.0.1:4646",
      },
    ],
    ["a string", "plain\nsecond line", "plain ⏎ second line"],
  ])("%s", (_name, error, expected) => {
    expect(errorForLog(error)).toEqual(expected);
    const { log, lines } = capture();
    log.warn({ err: error }, "event stream failed");
    expect(lines).toHaveLength(1);
    const line = lines[0] as string;
    expect(JSON.parse(line).err).toEqual(expected);
    expect(line).not.toMatch(/"stack"|localPort|bytesWritten|"socket"/);
  });

  it("a real refused Nomad call logs one short line with the code", async () => {
    const port = await closedPort();
    const nomad = new NomadClient({ address: `http://127.0.0.1:${port}`, retries: 0 }, {});
    const error = await nomad.listJobs().then(
      () => undefined,
      (e: unknown) => e,
    );
    await nomad.close();
    const { log, lines } = capture();
    log.warn({ err: error }, "listing owned Nomad jobs failed");
    const logged = JSON.parse(lines[0] as string).err;
    expect(logged).toMatchObject({ reason: "NomadUnavailable", code: "ECONNREFUSED" });
    expect(logged.message).toContain(`127.0.0.1:${port}`);
    expect(lines[0]).not.toMatch(/"stack"|\\n/);
    expect((lines[0] as string).length).toBeLessThan(800);
  });
});

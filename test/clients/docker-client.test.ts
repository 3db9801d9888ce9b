// The Docker connection's pure parts: error mapping to typed reasons, API version negotiation, and
// the demultiplexing of container logs.
import { describe, expect, it } from "vitest";
import { OperatorError } from "../../src/api/errors.ts";
import { compareApiVersions, connectDocker, negotiateApiVersion } from "../../src/clients/docker/connect.ts";
import { LogDemuxer } from "../../src/clients/docker/demux.ts";
import { dockerError } from "../../src/clients/docker/errors.ts";
import { keyFromLabels } from "../../src/clients/docker/labels.ts";
import { DockerScheduler } from "../../src/scheduler/docker/scheduler.ts";

const answer = (statusCode: number, message: string) =>
  Object.assign(new Error(`(HTTP code ${statusCode}) - ${message}`), { statusCode, json: { message } });

describe("dockerError", () => {
  it.each([
    [answer(404, "No such image: nope:1"), "ImageNotFound", /creating container x.*No such image: nope:1/],
    [answer(404, "No such container: abc"), "NotFound", /No such container: abc/],
    [
      answer(409, 'Conflict. The container name "/x" is already in use'),
      "NameConflict",
      /name already in use on unix:\/\/\/s/,
    ],
    // moby: the daemon's duplicate check answers 409; libnetwork's NetworkNameError is Forbidden (403).
    [answer(409, "network with name mlops-network already exists"), "NameConflict", /mlops-network/],
    [answer(403, "network with name mlops-network already exists"), "NameConflict", /name already in use/],
    [answer(403, "operation not permitted"), "DockerError", /HTTP 403/],
    [answer(400, "Range of CPUs is from 0.01 to 2.00"), "DockerRejected", /Range of CPUs/],
    [answer(500, "boom"), "DockerError", /HTTP 500.*boom/],
    [
      Object.assign(new Error("connect ECONNREFUSED /s"), { code: "ECONNREFUSED" }),
      "DockerUnavailable",
      /unreachable while creating container x/,
    ],
    [Object.assign(new Error("connect ENOENT /s"), { code: "ENOENT" }), "DockerUnavailable", /unix:\/\/\/s/],
  ])("%s → %s", (raw, reason, message) => {
    const mapped = dockerError(raw, "creating container x", "unix:///s");
    expect(mapped).toBeInstanceOf(OperatorError);
    expect(mapped.reason).toBe(reason);
    expect(mapped.message).toMatch(message);
  });

  it("keeps typed errors as they are", () => {
    const typed = new OperatorError("NotOwned", "x");
    expect(dockerError(typed, "y", "z")).toBe(typed);
  });
});

describe("API version", () => {
  it.each([
    [{ ApiVersion: "1.41", MinAPIVersion: "1.12" }, "1.41"],
    [{ ApiVersion: "1.47", MinAPIVersion: "1.24" }, "1.41"],
    [{ ApiVersion: "1.52", MinAPIVersion: "1.44" }, "1.44"],
    [{ ApiVersion: "1.40", MinAPIVersion: "1.12" }, "1.40"],
    [{}, "1.41"],
  ])("engine %o → %s", (server, expected) => {
    expect(negotiateApiVersion("1.41", server)).toBe(expected);
  });
  it("compares numerically", () => {
    expect(compareApiVersions("1.9", "1.41")).toBeLessThan(0);
  });
});

function frame(stream: 1 | 2, text: string): Buffer {
  const body = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

describe("LogDemuxer", () => {
  it("splits frames into lines per stream, across frame and chunk boundaries", () => {
    const bytes = Buffer.concat([frame(1, "epoch 1\nepo"), frame(2, "warn\n"), frame(1, "ch 2\nlast")]);
    const demux = new LogDemuxer();
    const lines = [];
    for (let i = 0; i < bytes.length; i += 5) lines.push(...demux.push(bytes.subarray(i, i + 5)));
    lines.push(...demux.flush());
    expect(lines).toEqual([
      { stream: "stdout", line: "epoch 1" },
      { stream: "stderr", line: "warn" },
      { stream: "stdout", line: "epoch 2" },
      { stream: "stdout", line: "last" },
    ]);
  });
});

describe("keyFromLabels", () => {
  it.each([
    [{ "mlops.dev/key": "TrainingJob/default/a" }, "TrainingJob/default/a"],
    [{ "mlops.dev/key": "MlopsStack/ns/s" }, "MlopsStack/ns/s"],
    [{ "mlops.dev/key": "Pod/ns/s" }, undefined],
    [{ "mlops.dev/key": "TrainingJob//a" }, undefined],
    [{}, undefined],
  ])("%o → %s", (labels, key) => {
    expect(keyFromLabels(labels)).toBe(key);
  });
});

describe("an engine that is not there", () => {
  it("connects without failing, and every call is DockerUnavailable naming the engine", async () => {
    const conn = await connectDocker({ host: "unix:///tmp/mlops-no-such-docker.sock", probeTimeoutMs: 500 });
    expect(conn.apiVersion).toBe("1.41");
    const scheduler = new DockerScheduler({ connection: conn, ownerId: "o" });
    await expect(
      scheduler.observe({ kind: "TrainingJob", namespace: "default", name: "a" }),
    ).rejects.toMatchObject({
      reason: "DockerUnavailable",
      message: expect.stringMatching(
        /unix:\/\/\/tmp\/mlops-no-such-docker\.sock is unreachable while listing containers of TrainingJob\/default\/a: /,
      ),
    });
  });
});

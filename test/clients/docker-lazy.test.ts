// lazyDocker: the Docker connection `run` hands out connects (imports dockerode, negotiates the API
// version) on its first call, once for all callers; until then it costs nothing and knows its target.
import { describe, expect, it } from "vitest";
import { type ConnectedDocker, dockerConnection } from "../../src/clients/docker/connect.ts";
import { lazyDocker } from "../../src/clients/docker/lazy.ts";
import { DockerScheduler } from "../../src/scheduler/docker/scheduler.ts";

/** A connect that counts its calls and answers with a dockerode stand-in whose ping says `pong`. */
function countingConnect(fail = 0) {
  const seen = { connects: 0 };
  const connect = async (): Promise<ConnectedDocker> => {
    seen.connects += 1;
    if (seen.connects <= fail)
      throw Object.assign(new Error("Cannot find package 'dockerode'"), { code: "ERR_MODULE_NOT_FOUND" });
    const docker = { ping: async () => "pong" } as unknown as ConnectedDocker["docker"];
    return dockerConnection(docker, "tcp://double");
  };
  return { seen, connect };
}

describe("lazyDocker", () => {
  it("connects nothing until called, names its target from the host given or DOCKER_HOST", () => {
    const { seen, connect } = countingConnect();
    const conn = lazyDocker({ host: "tcp://127.0.0.1:2375" }, connect);
    expect(conn.target).toBe("tcp://127.0.0.1:2375");
    expect(lazyDocker({}, connect).target).toBe(process.env.DOCKER_HOST || "unix:///var/run/docker.sock");
    expect(conn.started).toBe(false);
    expect(seen.connects).toBe(0);
  });

  it("a Docker scheduler built on it connects nothing either", () => {
    const { seen, connect } = countingConnect();
    const conn = lazyDocker({}, connect);
    const scheduler = new DockerScheduler({ connection: conn, ownerId: "o" });
    expect(scheduler.target).toBe(conn.target);
    expect(seen.connects).toBe(0);
  });

  it("connects once on the first call, for however many callers at once", async () => {
    const { seen, connect } = countingConnect();
    const conn = lazyDocker({}, connect);
    const answers = await Promise.all(
      [1, 2, 3].map(() => conn.call("/_ping", "pinging", (d) => d.ping() as Promise<unknown>)),
    );
    expect(answers).toEqual(["pong", "pong", "pong"]);
    await conn.call("/_ping", "pinging", (d) => d.ping() as Promise<unknown>);
    expect(conn.started).toBe(true);
    expect(seen.connects).toBe(1);
  });

  it("a connect that fails is DockerUnavailable naming the call and the engine, and is tried again", async () => {
    const { seen, connect } = countingConnect(1);
    const conn = lazyDocker({ host: "unix:///tmp/mlops-lazy.sock" }, connect);
    await expect(conn.call("/_ping", "pinging the engine", (d) => d.ping())).rejects.toMatchObject({
      reason: "DockerUnavailable",
      message: expect.stringMatching(
        /unix:\/\/\/tmp\/mlops-lazy\.sock is unreachable while pinging the engine/,
      ),
    });
    expect(await conn.call("/_ping", "pinging the engine", (d) => d.ping() as Promise<unknown>)).toBe("pong");
    expect(seen.connects).toBe(2);
  });

  it("a connection made while the engine did not answer its version probe is not kept: the next call negotiates", async () => {
    let connects = 0;
    const connect = async (): Promise<ConnectedDocker> => {
      connects += 1;
      const docker = { ping: async () => "pong" } as unknown as ConnectedDocker["docker"];
      // The first two probes go unanswered (the engine starts later), then it answers.
      return { ...dockerConnection(docker, "tcp://double"), negotiated: connects > 2 };
    };
    const conn = lazyDocker({}, connect);
    for (let i = 0; i < 5; i++) await conn.call("/_ping", "pinging", (d) => d.ping() as Promise<unknown>);
    expect(connects).toBe(3);
  });

  it("with the real connect, an engine that is not there makes calls DockerUnavailable", async () => {
    const conn = lazyDocker({ host: "unix:///tmp/mlops-no-such-docker.sock", probeTimeoutMs: 500 });
    await expect(conn.call("/_ping", "pinging the engine", (d) => d.ping())).rejects.toMatchObject({
      reason: "DockerUnavailable",
    });
    // And the engine is asked for its version again on the next call, not taken to speak the pin.
    const { connectDocker } = await import("../../src/clients/docker/connect.ts");
    const down = await connectDocker({ host: "unix:///tmp/mlops-no-such-docker.sock", probeTimeoutMs: 500 });
    expect(down.negotiated).toBe(false);
  });
});

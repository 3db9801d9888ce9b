// The Docker event stream against a loopback double speaking the engine's wire format
// (GET /v1.41/events → one JSON object per line, no heartbeats): resume with `since`, replays
// dropped, `resync` after a reconnect, backoff on errors, the watchdog on a silent stream.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Docker from "dockerode";
import { firstValueFrom, take, toArray } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { dockerConnection } from "../../src/clients/docker/connect.ts";
import {
  backoffMs,
  type DockerEventMessage,
  dockerEvents,
  EventCursor,
} from "../../src/clients/docker/events.ts";
import { eventLine } from "../doubles/docker/events.ts";

type Handler = (req: IncomingMessage, res: ServerResponse, attempt: number) => void;

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((s) => {
      s.closeAllConnections();
      return new Promise((r) => s.close(r));
    }),
  );
});

async function engine(handler: Handler): Promise<{ requests: URL[]; docker: Docker }> {
  const requests: URL[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://engine");
    if (url.pathname !== "/v1.41/events") {
      res.writeHead(404).end();
      return;
    }
    requests.push(url);
    handler(req, res, requests.length);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { requests, docker: new Docker({ host: "127.0.0.1", port, version: "v1.41" }) };
}

const event = (id: string, action: string, timeNano: number): string => eventLine(id, action, timeNano);

const T = 1_764_150_000_000_000_000;

const describeMessage = (m: DockerEventMessage): string =>
  m.type === "event" ? `${m.event.Actor.ID}:${m.event.Action}` : `${m.type}:${m.cause}`;

describe("dockerEvents", () => {
  it("sends the filters, says the engine was lost when the stream ends, resumes with since, drops replays and asks for a re-list", async () => {
    const { requests, docker } = await engine((_req, res, attempt) => {
      res.writeHead(200, { "content-type": "application/json" });
      if (attempt === 1) {
        res.write(event("c1", "start", T));
        // a line split across chunks
        const line = event("c1", "die", T + 5_000_000_000);
        res.write(line.slice(0, 20));
        setTimeout(() => res.end(line.slice(20)), 20);
      } else {
        res.write(event("c1", "die", T + 5_000_000_000)); // replayed by the engine's buffer
        res.write(event("c2", "destroy", T + 6_000_000_000));
      }
    });
    const stream = dockerEvents(dockerConnection(docker, "tcp://double"), {
      filters: { label: ["mlops.dev/owner-id=o1"], event: ["die", "destroy"] },
      initialBackoffMs: 10,
      maxBackoffMs: 20,
    });
    const before = Date.now();
    const got = await firstValueFrom(stream.pipe(take(5), toArray()));
    expect(got.map(describeMessage)).toEqual([
      "c1:start",
      "c1:die",
      "lost:ended",
      "resync:reconnect",
      "c2:destroy",
    ]);
    const lost = got[2];
    expect(lost?.type === "lost" && lost.at >= before && lost.at <= Date.now()).toBe(true);
    expect(JSON.parse(requests[0]?.searchParams.get("filters") ?? "{}")).toEqual({
      type: ["container"],
      label: ["mlops.dev/owner-id=o1"],
      event: ["die", "destroy"],
    });
    expect(requests[0]?.searchParams.get("since")).toBeNull();
    const since = Number(requests[1]?.searchParams.get("since"));
    expect(since).toBeGreaterThan((T + 4_000_000_000) / 1e9);
    expect(since).toBeLessThanOrEqual((T + 5_000_000_000) / 1e9);
  });

  it("backs off and retries when the engine answers 500, then streams", async () => {
    const { requests, docker } = await engine((_req, res, attempt) => {
      if (attempt < 3) {
        res.writeHead(500, { "content-type": "application/json" }).end('{"message":"daemon busy"}');
        return;
      }
      res.writeHead(200);
      res.write(event("c9", "oom", T));
    });
    const stream = dockerEvents(dockerConnection(docker, "tcp://double"), {
      filters: {},
      initialBackoffMs: 10,
      maxBackoffMs: 40,
    });
    const got = await firstValueFrom(stream.pipe(take(1), toArray()));
    expect(got.map(describeMessage)).toEqual(["c9:oom"]);
    expect(requests).toHaveLength(3);
  });

  it("restarts a stream that stays silent longer than stallMs (no heartbeats), resuming without a re-list", async () => {
    const { requests, docker } = await engine((_req, res, attempt) => {
      res.writeHead(200);
      res.flushHeaders(); // as the engine does: headers at once, then events as they happen
      if (attempt === 1) res.write(event("c1", "start", T));
      if (attempt === 2) setTimeout(() => res.write(event("c1", "die", T + 1_000_000_000)), 20);
      // otherwise silence, connection kept open
    });
    const stream = dockerEvents(dockerConnection(docker, "tcp://double"), { filters: {}, stallMs: 150 });
    const started = Date.now();
    const got = await firstValueFrom(stream.pipe(take(2), toArray()));
    expect(got.map(describeMessage)).toEqual(["c1:start", "c1:die"]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(requests).toHaveLength(2);
    expect(requests[1]?.searchParams.get("since")).not.toBeNull();
  });

  it("treats an engine that never answers the request as a stall, and retries", async () => {
    const { requests, docker } = await engine((_req, res, attempt) => {
      if (attempt === 1) return; // no headers at all
      res.writeHead(200);
      res.write(event("c3", "die", T));
    });
    const stream = dockerEvents(dockerConnection(docker, "tcp://double"), { filters: {}, stallMs: 100 });
    const got = await firstValueFrom(stream.pipe(take(1), toArray()));
    expect(got.map(describeMessage)).toEqual(["c3:die"]);
    expect(requests).toHaveLength(2);
  });

  it("closes the connection when the subscriber leaves", async () => {
    let closed = false;
    const { docker } = await engine((req, res) => {
      res.writeHead(200);
      res.write(event("c1", "start", T));
      req.socket.on("close", () => {
        closed = true;
      });
    });
    const stream = dockerEvents(dockerConnection(docker, "tcp://double"), { filters: {} });
    await firstValueFrom(stream.pipe(take(1)));
    for (let i = 0; i < 50 && !closed; i++) await new Promise((r) => setTimeout(r, 10));
    expect(closed).toBe(true);
  });
});

describe("DockerConnection.call", () => {
  it("fails a call the engine never answers as DockerUnavailable, naming what and where", async () => {
    const { docker } = await engine(() => {
      // never answers
    });
    const conn = dockerConnection(docker, "tcp://hung", "1.41", 100);
    await expect(
      conn.call("/events", "watching container events", (d) => d.getEvents()),
    ).rejects.toMatchObject({
      reason: "DockerUnavailable",
      message: expect.stringMatching(/tcp:\/\/hung.*watching container events/),
    });
  });
});

describe("EventCursor and backoff", () => {
  it("accepts each event once, in order, across replays", () => {
    const cursor = new EventCursor();
    const e = (id: string, action: string, timeNano: number) => JSON.parse(event(id, action, timeNano));
    expect(cursor.accept(e("a", "start", T))).toBe(true);
    expect(cursor.accept(e("b", "start", T))).toBe(true); // same instant, other container
    expect(cursor.accept(e("a", "start", T))).toBe(false);
    expect(cursor.accept(e("a", "die", T + 1000))).toBe(true);
    expect(cursor.accept(e("b", "start", T))).toBe(false); // older than the last
  });

  it("bounds the backoff: doubling from 250 ms, ±50 % jitter, never above 30 s", () => {
    const mid = [0, 1, 5, 30, 1000].map((n) => backoffMs(n, 250, 30_000, () => 0.5));
    expect(mid).toEqual([250, 500, 8000, 30_000, 30_000]);
    expect(backoffMs(3, 250, 30_000, () => 0)).toBe(1000);
    expect(backoffMs(3, 250, 30_000, () => 0.999)).toBeLessThanOrEqual(3000);
    expect(backoffMs(30, 250, 30_000, () => 0.999)).toBe(30_000);
  });
});

// Server: Nomad 1.9.6 (and 2.0.3 where noted), hashicorp/nomad. Follows: nomad/event_endpoint.go,
// nomad/stream/ndjson.go, command/agent/event_endpoint.go.
// GET /v1/event/stream of the Nomad double, as Nomad 1.9.6 serves it (nomad/event_endpoint.go,
// nomad/stream/ndjson.go, command/agent/event_endpoint.go): newline-delimited JSON, a `{}` heartbeat
// at connect and every 30 s, then the buffered items from where the request's `index` says (see
// event-buffer.ts) and live items. `namespace=*` is expanded once, when the stream opens, to the
// namespaces that exist then (validateACL): a namespace created later gets no events on this stream.
import type { ServerResponse } from "node:http";
import type { NomadEvent } from "../../../src/clients/nomad/types.ts";
import { eventJson, type Frame, topicFilter } from "./event-buffer.ts";
import type { NomadState } from "./state.ts";

/** nomad/event_endpoint.go: stream.NewJsonStream(ctx, 30*time.Second). */
export const HEARTBEAT_MS = 30_000;

export interface OpenStream {
  readonly res: ServerResponse;
  stalled: boolean;
  /** The namespaces this stream was subscribed with. */
  readonly namespaces: readonly string[];
}

export function serveEventStream(
  res: ServerResponse,
  url: URL,
  state: NomadState,
  streams: Set<OpenStream>,
  options: { heartbeatMs?: number; headers: Record<string, string> },
): void {
  const topics = url.searchParams.getAll("topic");
  const requested = url.searchParams.get("namespace") || "default";
  const namespaces = requested === "*" ? [...state.namespaces].sort() : [requested];
  const accept = topicFilter(topics.length > 0 ? topics : ["*"], namespaces);
  const from = Number(url.searchParams.get("index") ?? 0);
  res.writeHead(200, { "content-type": "application/json", ...options.headers });
  const stream: OpenStream = { res, stalled: false, namespaces };
  streams.add(stream);
  // The frames of one turn of the event loop (a batch of expired timers publishes many) leave in
  // one socket write instead of one each: a subscriber reads the same lines (TCP keeps no frame
  // boundaries anyway), and the double spends less of a benchmark's CPU in writev.
  let corked = false;
  const write = (text: string) => {
    if (!corked) {
      corked = true;
      res.cork();
      setImmediate(() => {
        corked = false;
        res.uncork();
      });
    }
    res.write(text);
  };
  const send = (frame: Frame) => {
    if (stream.stalled) return;
    const events = frame.Events.filter((e: NomadEvent) => accept(e));
    // JSON.stringify({ Index, Events }), from each event's JSON written once for all the streams.
    if (events.length > 0) write(`{"Index":${frame.Index},"Events":[${events.map(eventJson).join(",")}]}\n`);
  };
  write("{}\n"); // NewJsonStream queues one heartbeat before anything else
  for (const frame of state.events.startAt(Number.isFinite(from) ? from : 0)) send(frame);
  const unsubscribe = state.events.subscribe(send);
  const heartbeat = setInterval(() => {
    if (!stream.stalled) write("{}\n");
  }, options.heartbeatMs ?? HEARTBEAT_MS);
  res.on("close", () => {
    clearInterval(heartbeat);
    unsubscribe();
    streams.delete(stream);
  });
}

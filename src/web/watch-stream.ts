// GET /api/v1/watch: server-sent events (text/event-stream) of every resource of every kind, no
// parameters needed. Each `data:` line is one JSON object `{"type": "ADDED|MODIFIED|DELETED",
// "object": …}` with the object `mlopsctl get -o json` prints; the stream opens with an ADDED per
// resource (as a Kubernetes watch without a resourceVersion) unless ?initial=false. Bounded: MAX_STREAMS at once (more are
// answered 503), a comment line every HEARTBEAT_MS keeps idle connections open through proxies.
import type { IncomingMessage, ServerResponse } from "node:http";
import { type RecordEvent, recordToResource } from "../sources/state/index.ts";
import type { StatusView } from "./view.ts";

export const MAX_STREAMS = 32;
export const HEARTBEAT_MS = 20_000;

export function eventLine(event: RecordEvent): string {
  return `data: ${JSON.stringify({ type: event.type, object: recordToResource(event.record) })}\n\n`;
}

export function watchHandler(view: StatusView, contentSecurityPolicy: string) {
  let open = 0;
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (open >= MAX_STREAMS) {
      res.writeHead(503, { "Content-Type": "text/plain; charset=utf-8", "Retry-After": "10" });
      res.end(`too many event streams open (${MAX_STREAMS})\n`);
      return;
    }
    open++;
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
      "Content-Security-Policy": contentSecurityPolicy,
    });
    res.write("retry: 5000\n\n");
    // ?initial=false: changes only (the page already shows the current state).
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.searchParams.get("initial") !== "false") {
      for (const record of view.list()) res.write(eventLine({ type: "ADDED", record }));
    }
    const unsubscribe = view.subscribe((event) => res.write(eventLine(event)));
    const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), HEARTBEAT_MS);
    heartbeat.unref();
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      open--;
      clearInterval(heartbeat);
      unsubscribe();
    };
    req.on("close", close);
    res.on("close", close);
  };
}

// GET /api/v1/watch: server-sent events (text/event-stream) of every resource of every kind, no
// parameters needed. Each `data:` line is one JSON object `{"type": "ADDED|MODIFIED|DELETED",
// "object": …}` with the object `mlopsctl get -o json` prints, and an `id:` (the change's number).
// The stream opens with an ADDED per resource (as a Kubernetes watch without a resourceVersion),
// or, from a change number (`?since=N`, as the page passes the number it was rendered at, or the
// `Last-Event-ID` an EventSource sends when it reconnects), with the changes after it; when those are
// no longer kept, with an ADDED per resource again. Bounded: MAX_STREAMS at once (more are answered
// 503), a comment line every HEARTBEAT_MS keeps idle connections open through proxies.
import type { IncomingMessage, ServerResponse } from "node:http";
import { type RecordEvent, recordToResource } from "../sources/state/index.ts";
import type { StatusView } from "./view.ts";

export const MAX_STREAMS = 32;
export const HEARTBEAT_MS = 20_000;

/** One change as a `data:` line; `view` gives the record its spec (the records it holds have none). */
export function eventLine(view: Pick<StatusView, "withSpec">, event: RecordEvent, id?: string): string {
  const idLine = id === undefined ? "" : `id: ${id}\n`;
  const object = recordToResource(view.withSpec(event.record));
  return `${idLine}data: ${JSON.stringify({ type: event.type, object })}\n\n`;
}

/** A change's id on the stream: the view's epoch and the change's number. */
export const idOf = (view: Pick<StatusView, "epoch">, version: number): string => `${view.epoch}.${version}`;

/**
 * The change number a stream resumes from: Last-Event-ID (a reconnect) over ?since; undefined (from
 * the start) when absent, malformed, or numbered by another process (the operator restarted).
 */
export function resumeFrom(req: IncomingMessage, url: URL, epoch: string): number | undefined {
  const header = req.headers["last-event-id"];
  const raw = (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get("since") ?? undefined;
  const match = raw === undefined ? null : /^([0-9a-z]{1,40})\.(\d{1,15})$/.exec(raw);
  if (!match || match[1] !== epoch) return undefined;
  return Number(match[2]);
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
    const url = new URL(req.url ?? "/", "http://localhost");
    const from = resumeFrom(req, url, view.epoch);
    const missed = from === undefined ? undefined : view.since(from);
    if (missed) {
      for (const { event, version } of missed) res.write(eventLine(view, event, idOf(view, version)));
    } else {
      const at = view.version;
      for (const record of view.list()) res.write(eventLine(view, { type: "ADDED", record }));
      res.write(`id: ${idOf(view, at)}\n\n`); // a reconnect resumes from here
    }
    const unsubscribe = view.subscribe((event, version) =>
      res.write(eventLine(view, event, idOf(view, version))),
    );
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

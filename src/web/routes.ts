// The web status page and its read-only JSON API on the operator's HTTP server:
//   GET /                      the page (HTML, no script; ?kind=, ?namespace=, ?page=)
//   GET /resource?kind=…&namespace=…&name=…   one resource: conditions, replicas, events
//   GET /ui/style.css, /ui/live.js   its stylesheet and its one script (live updates)
//   GET /favicon.ico           204: no icon
//   GET /api/v1/resources      every resource, a List as `mlopsctl get -o json` prints it
//   GET /api/v1/<plural>       one kind's (trainingjobs, mlopsstacks, …); ?namespace= narrows
//   GET /api/v1/watch          server-sent events of every change (watch-stream.ts)
// Unauthenticated and read-only: a record is served with its spec's env values redacted
// (StatusView.withSpec); nothing is written.
import type { ServerResponse } from "node:http";
import { isKind, KINDS, kindInfo } from "../api/kinds.ts";
import { type Kind, makeKey } from "../api/resources.ts";
import type { OperatorServer } from "../observability/server.ts";
import { readEvents, recordToResource, type StatusRecord } from "../sources/state/index.ts";
import { queueRuns } from "../trainingqueue/waiting-line.ts";
import { renderDetail } from "./detail.ts";
import { queryOf, type RowFormat, renderPage, STYLE } from "./html.ts";
import { LIVE_SCRIPT } from "./live.ts";
import type { StatusView } from "./view.ts";
import { idOf, watchHandler } from "./watch-stream.ts";

/** Scripts, styles and event streams from this origin only (no inline script), no frames. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function send(res: ServerResponse, type: string, body: string): void {
  res.writeHead(200, {
    "Content-Type": type,
    "Content-Length": Buffer.byteLength(body),
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
  });
  res.end(body);
}

function list(view: StatusView, records: readonly StatusRecord[]): string {
  return `${JSON.stringify({
    apiVersion: "v1",
    kind: "List",
    items: records.map((r) => recordToResource(view.withSpec(r))),
    metadata: { resourceVersion: "" },
  })}\n`;
}

export interface WebOptions {
  /** A Grafana dashboard URL the detail page links to with the run's time range. */
  readonly grafanaUrl?: string;
}

export function registerWeb(
  server: OperatorServer,
  view: StatusView,
  format: RowFormat,
  options: WebOptions = {},
): void {
  server.route("GET", "/", (_req, res, url) =>
    send(
      res,
      "text/html; charset=utf-8",
      renderPage(view.list(), queryOf(url), format, new Date(), idOf(view, view.version)),
    ),
  );
  server.route("GET", "/resource", async (_req, res, url) => {
    const kind = url.searchParams.get("kind") ?? "";
    const namespace = url.searchParams.get("namespace") ?? "";
    const name = url.searchParams.get("name") ?? "";
    const record = isKind(kind) && namespace && name ? view.get(makeKey(kind, namespace, name)) : undefined;
    if (!record) {
      res.writeHead(404, {
        "Content-Type": "text/plain; charset=utf-8",
        "X-Content-Type-Options": "nosniff",
      });
      res.end("no such resource\n");
      return;
    }
    const events = await readEvents(view.stateDir, makeKey(record.kind, namespace, name)).catch(() => []);
    // A queue's runs: the TrainingJobs of its namespace that name it in their status.
    const queue =
      record.kind === "TrainingQueue"
        ? queueRuns(
            view
              .list()
              .filter((r) => r.kind === "TrainingJob" && r.metadata.namespace === namespace)
              .map((r) => view.withSpec(r)), // a run's request is in its spec
            name,
          )
        : undefined;
    send(
      res,
      "text/html; charset=utf-8",
      renderDetail(view.withSpec(record), events, options.grafanaUrl, queue),
    );
  });
  // The page has no icon; browsers ask for one anyway, and a 404 is an error in their console.
  server.route("GET", "/favicon.ico", (_req, res) => {
    res.writeHead(204, { "Cache-Control": "max-age=86400" });
    res.end();
  });
  server.route("GET", "/ui/style.css", (_req, res) => send(res, "text/css; charset=utf-8", STYLE));
  server.route("GET", "/ui/live.js", (_req, res) => send(res, "text/javascript; charset=utf-8", LIVE_SCRIPT));
  const json = (kind: Kind | undefined) => (_req: unknown, res: ServerResponse, url: URL) => {
    const namespace = url.searchParams.get("namespace");
    const records = view
      .list()
      .filter(
        (r) => (kind === undefined || r.kind === kind) && (!namespace || r.metadata.namespace === namespace),
      );
    send(res, "application/json", list(view, records));
  };
  server.route("GET", "/api/v1/resources", json(undefined));
  server.route("GET", "/api/v1/watch", watchHandler(view, CONTENT_SECURITY_POLICY));
  for (const kind of KINDS) server.route("GET", `/api/v1/${kindInfo(kind).plural}`, json(kind));
}

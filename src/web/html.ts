// The status page, rendered on the server: every resource with phase, Ready, reason and message,
// run, scheduler and target, progress and age, a page at a time. Every value that came from a
// resource (names, messages, reasons) is HTML-escaped; the page names every resource without
// JavaScript, and no asset comes from elsewhere. Its one script (live.ts) adds live updates; without
// it the page refreshes itself.
import { findCondition } from "../api/conditions.ts";
import type { StatusRecord } from "../sources/state/index.ts";

export const PAGE_SIZE = 200;
export const REFRESH_SECONDS = 5;

/** `&`, `<`, `>`, `"` and `'` as entities: safe in element text and in quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** One table row's values, plain text (escaped when rendered). */
export interface Row {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly phase: string;
  readonly ready: string;
  readonly reason: string;
  readonly message: string;
  readonly run: string;
  readonly scheduler: string;
  readonly target: string;
  readonly progress: string;
  readonly age: string;
}

/** Formatting the page borrows from the CLI's columns, so the page and `get` say the same. */
export interface RowFormat {
  readonly age: (timestamp: string | undefined, now: Date) => string;
  readonly progress: (record: StatusRecord) => string;
}

export function rowOf(record: StatusRecord, format: RowFormat, now: Date): Row {
  const status = record.status ?? {};
  const ready = findCondition(status.conditions as never, "Ready");
  const run = (status.run ?? {}) as { id?: unknown; scheduler?: unknown; target?: unknown };
  const str = (v: unknown) => (typeof v === "string" ? v : "");
  return {
    kind: record.kind,
    namespace: record.metadata.namespace,
    name: record.metadata.name,
    phase: str(status.phase),
    ready: ready?.status ?? "Unknown",
    reason: ready?.reason ?? "",
    message: ready?.message ?? "",
    run: str(run.id),
    scheduler: str(run.scheduler),
    target: str(run.target),
    progress: format.progress(record),
    age: format.age(record.metadata.creationTimestamp, now),
  };
}

export interface PageQuery {
  readonly kind?: string;
  readonly namespace?: string;
  /** 1-based. */
  readonly page: number;
}

export function queryOf(url: URL): PageQuery {
  const page = Number(url.searchParams.get("page") ?? "1");
  const kind = url.searchParams.get("kind") ?? undefined;
  const namespace = url.searchParams.get("namespace") ?? undefined;
  return {
    page: Number.isSafeInteger(page) && page >= 1 ? page : 1,
    ...(kind ? { kind } : {}),
    ...(namespace ? { namespace } : {}),
  };
}

export function selectRecords(records: readonly StatusRecord[], query: PageQuery): StatusRecord[] {
  return records.filter(
    (r) =>
      (query.kind === undefined || r.kind === query.kind) &&
      (query.namespace === undefined || r.metadata.namespace === query.namespace),
  );
}

const COLUMNS: readonly [string, keyof Row][] = [
  ["Kind", "kind"],
  ["Namespace", "namespace"],
  ["Name", "name"],
  ["Phase", "phase"],
  ["Ready", "ready"],
  ["Reason", "reason"],
  ["Message", "message"],
  ["Run", "run"],
  ["Scheduler", "scheduler"],
  ["Target", "target"],
  ["Progress", "progress"],
  ["Age", "age"],
];

/** The resource's own page. */
export function detailLink(row: Pick<Row, "kind" | "namespace" | "name">): string {
  const params = new URLSearchParams({ kind: row.kind, namespace: row.namespace, name: row.name });
  return `/resource?${escapeHtml(params.toString())}`;
}

export function renderPage(
  records: readonly StatusRecord[],
  query: PageQuery,
  format: RowFormat,
  now: Date,
  /** The change the page shows the state after (the watch stream's id); the script resumes from it. */
  version = "",
): string {
  const selected = selectRecords(records, query);
  const pages = Math.max(1, Math.ceil(selected.length / PAGE_SIZE));
  const page = Math.min(query.page, pages);
  const shown = selected.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE).map((r) => rowOf(r, format, now));
  const counts = new Map<string, number>();
  for (const r of selected) {
    const phase = typeof r.status?.phase === "string" ? r.status.phase : r.kind;
    counts.set(phase, (counts.get(phase) ?? 0) + 1);
  }
  const summary = [...counts].map(([phase, n]) => `${escapeHtml(phase)}: ${n}`).join(" · ");
  const link = (p: number) => {
    const params = new URLSearchParams();
    if (query.kind) params.set("kind", query.kind);
    if (query.namespace) params.set("namespace", query.namespace);
    params.set("page", String(p));
    return `?${escapeHtml(params.toString())}`;
  };
  const nav =
    pages > 1
      ? `<nav>${page > 1 ? `<a href="${link(page - 1)}" rel="prev">previous</a> ` : ""}page ${page} of ${pages}${
          page < pages ? ` <a href="${link(page + 1)}" rel="next">next</a>` : ""
        }</nav>`
      : "";
  const head = COLUMNS.map(([h]) => `<th scope="col">${h}</th>`).join("");
  const body = shown
    .map(
      (row) =>
        `<tr class="phase-${escapeHtml(row.phase || "none")}" data-key="${escapeHtml(`${row.kind}/${row.namespace}/${row.name}`)}">${COLUMNS.map(
          ([, k]) =>
            k === "name"
              ? `<td><a href="${detailLink(row)}">${escapeHtml(row.name)}</a></td>`
              : `<td>${escapeHtml(row[k])}</td>`,
        ).join("")}</tr>`,
    )
    .join("\n");
  const empty = selected.length === 0 ? `<p>No resources found.</p>` : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<noscript><meta http-equiv="refresh" content="${REFRESH_SECONDS}"></noscript>
<title>mlops-operator: resources</title>
<link rel="stylesheet" href="/ui/style.css">
<script src="/ui/live.js" defer></script>
</head>
<body data-version="${escapeHtml(version)}">
<h1>mlops-operator</h1>
<p>${selected.length} resources${summary ? ` (${summary})` : ""}; as of ${escapeHtml(now.toISOString())} <span id="live">(reloads every ${REFRESH_SECONDS} s)</span>. <a href="/api/v1/resources">JSON</a></p>
${nav}
${empty}<table>
<thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody>
</table>
${nav}
</body>
</html>
`;
}

export const STYLE = `body{font:14px system-ui,sans-serif;margin:1.5em;color:#1b1f24}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #d0d7de;vertical-align:top}
th{background:#f6f8fa;position:sticky;top:0}td{white-space:nowrap}td:nth-child(7){white-space:normal;max-width:30em;overflow-wrap:anywhere}table.facts td{white-space:normal}
tr.phase-Failed td:nth-child(4){color:#cf222e;font-weight:600}tr.phase-Succeeded td:nth-child(4){color:#1a7f37}
table.facts{width:auto}table.facts th{background:none;position:static;padding-right:2em}
tr.phase-Running td:nth-child(4){color:#0969da}tr.phase-Pending td:nth-child(4){color:#9a6700}nav{margin:.6em 0}
`;

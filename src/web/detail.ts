// One resource's page (GET /resource?kind=…&namespace=…&name=…): its conditions, the replicas of its
// run with their exit codes, recent events, the image and the names of its env variables (never
// their values), and a link to Grafana when GRAFANA_URL is known; a TrainingQueue's page also its
// admitted runs and its waiting line (waiting-line.ts). Every value HTML-escaped.
import type { EventRecord, StatusRecord } from "../sources/state/index.ts";
import { type QueueRuns, requestText } from "../trainingqueue/waiting-line.ts";
import { escapeHtml } from "./html.ts";

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

interface Replica {
  index?: number;
  node?: string;
  state?: string;
  exitCode?: number;
  restarts?: number;
  reason?: string;
}

/** A table cell: a value, escaped; or markup this module made (`{ html }`) from escaped parts. */
const cell = (value: unknown) =>
  typeof value === "object" && value !== null && "html" in value
    ? `<td>${(value as { html: string }).html}</td>`
    : `<td>${escapeHtml(value === undefined || value === null ? "" : String(value))}</td>`;

function table(headers: readonly string[], rows: readonly unknown[][]): string {
  if (rows.length === 0) return "<p>None.</p>";
  return `<table><thead><tr>${headers.map((h) => `<th scope="col">${h}</th>`).join("")}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map(cell).join("")}</tr>`)
    .join("\n")}</tbody></table>`;
}

/** A TrainingQueue's runs, as two tables (a job's name links to its page). */
function queueTables(namespace: string, runs: QueueRuns): string {
  const job = (name: string) => {
    const query = new URLSearchParams({ kind: "TrainingJob", namespace, name });
    return { html: `<a href="/resource?${escapeHtml(query.toString())}">${escapeHtml(name)}</a>` };
  };
  return `<h2>Admitted runs</h2>
${table(
  ["Job", "Priority", "Request", "Phase", "Admitted"],
  runs.admitted.map((r) => [job(r.name), r.priority, requestText(r.request), r.phase, r.queue.admittedAt]),
)}
<h2>Waiting runs (position 1 is admitted next)</h2>
${table(
  ["Position", "Job", "Priority", "Request", "Reason", "Queued"],
  runs.waiting.map((r) => [
    r.queue.position ?? "-",
    job(r.name),
    r.priority,
    requestText(r.request),
    r.reason,
    r.queue.queuedAt,
  ]),
)}
`;
}

/** `queue`: a TrainingQueue's runs (from the view's TrainingJob records), shown on its page. */
export function renderDetail(
  record: StatusRecord,
  events: readonly EventRecord[],
  grafanaUrl: string | undefined,
  queue?: QueueRuns,
): string {
  const status = record.status ?? {};
  const spec = (record.spec ?? {}) as { image?: string; replicas?: number; env?: { name?: string }[] };
  const conditions = (status.conditions ?? []) as Condition[];
  const run = (status.run ?? {}) as {
    id?: string;
    scheduler?: string;
    target?: string;
    startTime?: string;
    completionTime?: string;
    replicas?: Replica[];
  };
  const title = `${record.kind} ${record.metadata.namespace}/${record.metadata.name}`;
  const facts: [string, unknown][] = [
    ["Phase", status.phase],
    ["Image", spec.image],
    ["Replicas wanted", spec.replicas],
    ["Env (names only)", (spec.env ?? []).map((e) => e.name).join(", ")],
    ["Run", run.id],
    ["Scheduler", run.scheduler],
    ["Target", run.target],
    ["Started", run.startTime],
    ["Completed", run.completionTime],
    ["Generation", record.metadata.generation],
    ["Status written", record.updated],
  ];
  let grafana = "";
  if (grafanaUrl && run.startTime) {
    const from = Date.parse(run.startTime);
    const to = run.completionTime ? Date.parse(run.completionTime) : Date.now();
    if (Number.isFinite(from) && Number.isFinite(to)) {
      const url = new URL(grafanaUrl);
      url.searchParams.set("from", String(from));
      url.searchParams.set("to", String(to));
      grafana = `<p><a href="${escapeHtml(url.toString())}" rel="noreferrer">Grafana, the run's time range</a></p>`;
    }
  }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/ui/style.css">
</head>
<body>
<p><a href="/">all resources</a></p>
<h1>${escapeHtml(title)}</h1>
<table class="facts"><tbody>${facts
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `<tr><th scope="row">${k}</th>${cell(v)}</tr>`)
    .join("")}</tbody></table>
${grafana}
<h2>Conditions</h2>
${table(
  ["Type", "Status", "Reason", "Message", "Last transition"],
  conditions.map((c) => [c.type, c.status, c.reason, c.message, c.lastTransitionTime]),
)}
<h2>Replicas</h2>
${table(
  ["Index", "Node", "State", "Exit code", "Restarts", "Reason"],
  (run.replicas ?? []).map((r) => [r.index, r.node, r.state, r.exitCode, r.restarts, r.reason]),
)}
${queue ? queueTables(record.metadata.namespace, queue) : ""}<h2>Recent events</h2>
${table(
  ["Type", "Reason", "Message", "Count", "Last seen"],
  [...events]
    .reverse()
    .slice(0, 50)
    .map((e) => [e.type, e.reason, e.message, e.count, e.lastTimestamp]),
)}
</body>
</html>
`;
}

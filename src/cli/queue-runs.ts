// `mlopsctl describe tq NAME`: the queue's admitted runs and its waiting line (waiting-line.ts) as two
// tables, after the queue's own status and before its events.
import { type QueueRuns, requestText } from "../trainingqueue/waiting-line.ts";
import { age, section } from "./output.ts";

/** The two tables describe prints for a TrainingQueue (each "<none>" when empty). */
export function renderQueueRuns(runs: QueueRuns, now: Date): string {
  let out = "";
  if (runs.admitted.length === 0) out += "Admitted Runs:  <none>\n";
  else {
    const headers = ["Job", "Priority", "Request", "Phase", "Admitted"];
    const rows = runs.admitted.map((r) => [
      r.name,
      String(r.priority),
      requestText(r.request),
      r.phase,
      r.queue.admittedAt ? `${age(r.queue.admittedAt, now)} ago` : "<unknown>",
    ]);
    out += section("Admitted Runs", headers, rows);
  }
  if (runs.waiting.length === 0) out += "Waiting Runs:   <none>\n";
  else {
    const headers = ["Position", "Job", "Priority", "Request", "Reason", "Waiting"];
    const rows = runs.waiting.map((r) => [
      r.queue.position === undefined ? "-" : String(r.queue.position),
      r.name,
      String(r.priority),
      requestText(r.request),
      r.reason ?? "",
      age(r.queue.queuedAt, now),
    ]);
    out += section("Waiting Runs (position 1 is admitted next)", headers, rows);
  }
  return out;
}

// status.run.attempts after a reconcile (pure): one entry per attempt of the run, with its start,
// end, exit code, reason and the budget its failure counted against. Recorded facts are kept; an
// entry's end is written once.
import { isoTime } from "../api/iso-time.ts";
import type { Decision, RunRecord } from "./decide.ts";

export type AttemptRecord = NonNullable<RunRecord["attempts"]>[number];

export function attemptsAfter(
  recorded: readonly AttemptRecord[] | undefined,
  decision: Decision,
  now: Date,
): AttemptRecord[] {
  const list = (recorded ?? []).map((a) => ({ ...a }));
  const at = (n: number, startTime: string): AttemptRecord => {
    const found = list.find((a) => a.attempt === n);
    if (found) return found;
    const entry: AttemptRecord = { attempt: n, startTime };
    list.push(entry);
    list.sort((a, b) => a.attempt - b.attempt);
    return entry;
  };
  const started = decision.current?.startTime ?? isoTime(now);
  const ended = decision.ended;
  if (ended) {
    const entry = at(ended.attempt, started);
    if (entry.completionTime === undefined) {
      entry.completionTime = ended.completionTime ?? isoTime(now);
      if (ended.exitCode !== undefined) entry.exitCode = ended.exitCode;
      entry.reason = ended.reason;
      entry.message = ended.message;
      entry.counted = ended.counted;
      if (ended.preemptedBy !== undefined) entry.preemptedBy = ended.preemptedBy;
    }
  }
  const submitting = decision.step.op === "submit" && decision.step.why !== "update";
  const current = at(decision.attempt, submitting ? isoTime(now) : started);
  const outcome = decision.outcome;
  if (outcome && !ended && current.completionTime === undefined) {
    const finished = decision.current?.replicas
      .map((r) => r.finishedAt)
      .filter((t): t is string => t !== undefined)
      .sort()
      .at(-1);
    current.completionTime = finished ?? isoTime(now);
    current.reason = outcome.outcome === "Succeeded" ? "Completed" : outcome.reason;
    if (outcome.outcome === "Succeeded") current.exitCode = 0;
    else current.message = outcome.message;
  }
  // Kept in the status record: exactly as long (a push leaves room for 17, 152 B).
  return list.slice();
}

/** Failed attempts followed by another, by the budget they counted against (the RESTARTS column). */
export function restartsOf(attempts: readonly AttemptRecord[] | undefined): { user: number; infra: number } {
  const list = attempts ?? [];
  const retried = list.filter((a) => list.some((b) => b.attempt > a.attempt));
  return {
    user: retried.filter((a) => a.counted === "user").length,
    infra: retried.filter((a) => a.counted === "infra").length,
  };
}

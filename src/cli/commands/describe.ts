// `mlopsctl describe KIND NAME`: one resource from the state directory as kubectl describe prints
// it: metadata, spec summary, status, a conditions table and the recent events.
import type { Command } from "commander";
import type { Condition } from "../../api/conditions.ts";
import { kindChoices } from "../../api/kinds.ts";
import { DEFAULT_NAMESPACE, makeKey } from "../../api/resources.ts";
import { printable } from "../../observability/printable.ts";
import type { EventRecord } from "../../sources/state/event-merge.ts";
// The modules, not the state directory's index (which loads the operator's writer and rxjs).
import { readEvents } from "../../sources/state/events.ts";
import { listRecords, readRecord, type StatusRecord } from "../../sources/state/record.ts";
import type { AttemptRecord } from "../../trainingjob/attempts.ts";
import { queueRuns } from "../../trainingqueue/waiting-line.ts";
import { EXIT, ExitError } from "../exit.ts";
import { age, describeValue, section } from "../output.ts";
import { renderQueueRuns } from "../queue-runs.ts";
import { kindArgument, nameArgument, type StateOptions, stateDirOf, withStateOptions } from "./get.ts";

/** `more`: sections of the kind's own, printed before the events (a queue's runs). */
export function renderDescribe(
  record: StatusRecord,
  events: readonly EventRecord[],
  now: Date,
  more = "",
): string {
  const m = record.metadata;
  const pairs = (map: Record<string, string> | undefined) =>
    map && Object.keys(map).length > 0
      ? Object.entries(map)
          .map(([k, v], i) => `${i === 0 ? "" : " ".repeat(14)}${printable(`${k}=${v}`)}`)
          .join("\n")
      : "<none>";
  let out = "";
  out += `Name:         ${printable(m.name)}\n`;
  out += `Namespace:    ${printable(m.namespace)}\n`;
  out += `Labels:       ${pairs(m.labels)}\n`;
  out += `Annotations:  ${pairs(m.annotations)}\n`;
  out += `API Version:  ${printable(String(record.apiVersion))}\n`;
  out += `Kind:         ${printable(String(record.kind))}\n`;
  out += `Generation:   ${printable(String(m.generation))}\n`;
  out += `Created:      ${printable(m.creationTimestamp ?? "<unknown>")} (${age(m.creationTimestamp, now)} ago)\n`;
  out += `Spec:\n${describeValue(record.spec, 2)}`;
  const { conditions, ...status } = record.status as { conditions?: Condition[] } & Record<string, unknown>;
  const { rest, attempts } = withoutAttempts(status);
  out += Object.keys(rest).length > 0 ? `Status:\n${describeValue(rest, 2)}` : "Status:       <none>\n";
  if (conditions && conditions.length > 0) {
    const headers = ["Type", "Status", "Reason", "Message", "Last Transition Time"];
    const rows = conditions.map((c) => [c.type, c.status, c.reason, c.message, c.lastTransitionTime]);
    out += section("Conditions", headers, rows);
  } else {
    out += "Conditions:   <none>\n";
  }
  if (attempts.length > 0) out += renderAttempts(attempts);
  out += more;
  out += renderEvents(events, now);
  return out;
}

/** status.run.attempts, one row per attempt (kept out of the Status dump above). */
function withoutAttempts(status: Record<string, unknown>): {
  rest: Record<string, unknown>;
  attempts: AttemptRecord[];
} {
  const run = status.run as ({ attempts?: unknown } & Record<string, unknown>) | undefined;
  if (!run || !Array.isArray(run.attempts)) return { rest: status, attempts: [] };
  const { attempts, ...others } = run;
  return { rest: { ...status, run: others }, attempts: attempts as AttemptRecord[] };
}

function renderAttempts(attempts: readonly AttemptRecord[]): string {
  const headers = ["Attempt", "Start", "End", "Exit Code", "Reason", "Counted"];
  const rows = attempts.map((a) => [
    String(a.attempt),
    a.startTime,
    a.completionTime ?? "<running>",
    a.exitCode === undefined ? "" : String(a.exitCode),
    a.preemptedBy === undefined ? (a.reason ?? "") : `${a.reason ?? "Preempted"} for ${a.preemptedBy}`,
    a.counted ?? "",
  ]);
  return section("Attempts", headers, rows);
}

export function renderEvents(events: readonly EventRecord[], now: Date): string {
  if (events.length === 0) return "Events:       <none>\n";
  // Oldest first, as kubectl prints them: the latest event is the last line.
  const rows = events.map((e) => {
    const last = age(e.lastTimestamp, now);
    const when = e.count > 1 ? `${last} (x${e.count} over ${age(e.firstTimestamp, now)})` : last;
    return [e.type, e.reason, when, "mlops-operator", e.message];
  });
  const headers = ["Type", "Reason", "Age", "From", "Message"];
  return section("Events", headers, rows);
}

export async function describe(kindAlias: string, name: string, options: StateOptions): Promise<string> {
  const kind = kindArgument(kindAlias);
  const namespace = nameArgument(options.namespace ?? DEFAULT_NAMESPACE, "namespace");
  const key = makeKey(kind, namespace, nameArgument(name));
  const stateDir = stateDirOf(options);
  const record = await readRecord(stateDir, key);
  if (!record)
    throw new ExitError(
      EXIT.failed,
      `${kind} "${name}" not found in namespace ${namespace} (state directory ${stateDir})`,
    );
  const now = new Date();
  // A queue's runs are the TrainingJobs of its namespace that name it in their status.
  const more =
    kind === "TrainingQueue"
      ? renderQueueRuns(
          queueRuns(
            await listRecords(stateDir, "TrainingJob", namespace, { intern: false }),
            record.metadata.name,
          ),
          now,
        )
      : "";
  return renderDescribe(record, await readEvents(stateDir, key), now, more);
}

export function registerDescribe(program: Command): void {
  withStateOptions(
    program
      .command("describe")
      .description(
        "show one resource: spec summary, status, conditions and recent events (a queue: its admitted and waiting runs)",
      )
      .argument("<kind>", kindChoices())
      .argument("<name>", "resource name"),
  ).action(async (kind: string, name: string, options: StateOptions) => {
    process.stdout.write(await describe(kind, name, options));
  });
}

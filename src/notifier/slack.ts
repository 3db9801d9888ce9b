// A notification as a Slack incoming-webhook message: `{"text": …}` in Slack's mrkdwn, where `&`, `<`
// and `>` are the only characters to escape (api.slack.com/reference/surfaces/formatting#escaping);
// names and messages are user text, so they are escaped and never become links or mentions.
import type { Payload } from "./select.ts";

export function slackEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const ICON: Record<string, string> = {
  Failed: ":x:",
  Succeeded: ":white_check_mark:",
  Running: ":arrow_forward:",
  Ready: ":white_check_mark:",
  Degraded: ":warning:",
  Stalled: ":x:",
};

export function slackMessage(payload: Payload): { text: string } {
  const phase = payload.phase ?? "deleted";
  const head = `${ICON[phase] ?? ":information_source:"} ${payload.kind} *${slackEscape(`${payload.namespace}/${payload.name}`)}*: ${slackEscape(payload.previousPhase ?? "new")} → *${slackEscape(phase)}*`;
  const why = payload.reason
    ? `\n${slackEscape(payload.reason)}${payload.message ? `: ${slackEscape(payload.message)}` : ""}`
    : "";
  const run = payload.runId ? `\nrun ${slackEscape(payload.runId)}` : "";
  return { text: `${head}${why}${run}` };
}

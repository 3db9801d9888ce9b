// Server: Nomad 1.9.6, hashicorp/nomad. Follows: command/agent/fs_endpoint.go (/v1/client/fs/logs),
// client/lib/streamframer/framer.go (frames, heartbeats), command/agent/http.go (plain-text errors).
// The Nomad double's allocation logs: GET /v1/client/fs/logs/:alloc?task=&type=&follow= answers
// concatenated JSON frames `{"Offset":N,"Data":"<base64>","File":"alloc/logs/<task>.<type>.0"}`,
// and while following, the new output as it comes and a `{}` heartbeat meanwhile.
import type { ServerResponse } from "node:http";
import type { NomadState } from "./state.ts";

export interface LogSource {
  readonly state: NomadState;
  /** Each task's stdout so far, by `<alloc>/<task>` (the lifecycle writes it; stderr stays empty). */
  readonly logs: ReadonlyMap<string, string>;
  readonly heartbeatMs: number;
}

export function serveAllocLogs(res: ServerResponse, url: URL, allocId: string, source: LogSource): void {
  const alloc = source.state.allocs.get(allocId);
  const task = url.searchParams.get("task");
  if (!alloc || !task) {
    plain(res, alloc ? 400 : 404, alloc ? "must provide task name" : `unknown allocation ID "${allocId}"`);
    return;
  }
  const type = url.searchParams.get("type") ?? "stdout";
  const logKey = `${allocId}/${task}`;
  let offset = 0;
  const file = `alloc/logs/${task}.${type}.0`;
  res.writeHead(200, { "content-type": "application/json" });
  const flush = () => {
    const text = type === "stdout" ? (source.logs.get(logKey) ?? "") : "";
    const data = Buffer.from(text, "utf8").subarray(offset);
    if (data.length === 0) return;
    offset += data.length;
    res.write(JSON.stringify({ Offset: offset, Data: data.toString("base64"), File: file }));
  };
  flush();
  if (url.searchParams.get("follow") !== "true") {
    res.end();
    return;
  }
  const onLog = (k: string) => {
    if (k === logKey) flush();
  };
  source.state.changes.on("logs", onLog);
  const heartbeat = setInterval(() => res.write("{}"), source.heartbeatMs);
  res.on("close", () => {
    clearInterval(heartbeat);
    source.state.changes.off("logs", onLog);
  });
}

/** A plain-text answer, as Nomad's HTTP agent writes its errors. */
export function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
  res.end(text);
}

// ONE event stream for everything the operator owns: /v1/event/stream?topic=Job:*&topic=Allocation:*
// across namespaces, filtered by the subscriber. A state machine: connect from the last index seen;
// on error back off (bounded exponential, with jitter); a stall watchdog aborts a stream that has
// sent nothing (not even its `{}` heartbeat) for longer than `stallMs`; after every reconnect a
// `resync` signal tells the subscriber to re-list, because the server keeps only a small buffer of
// events (100 by default) and may have dropped some while we were away.
import { Observable } from "rxjs";
import { watchRestarts } from "../../observability/metrics.ts";
import type { NomadClient } from "./client.ts";
import { LineSplitter } from "./frames.ts";
import { openStream } from "./stream.ts";
import type { NomadEvent, NomadEventFrame } from "./types.ts";

export type StreamSignal =
  | { readonly type: "events"; readonly index: number; readonly events: readonly NomadEvent[] }
  | { readonly type: "resync"; readonly cause: string };

export interface EventStreamOptions {
  topics?: readonly string[];
  namespace?: string;
  /** Nomad sends `{}` every 10 s; a stream silent for longer than this is restarted. */
  stallMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Index to resume from (events with a greater index are delivered). */
  fromIndex?: number;
  onError?: (error: unknown) => void;
}

export const DEFAULT_TOPICS = ["Job:*", "Allocation:*"] as const;

export function nomadEventStream(
  client: NomadClient,
  options: EventStreamOptions = {},
): Observable<StreamSignal> {
  const stallMs = options.stallMs ?? 35_000;
  const baseMs = options.backoffBaseMs ?? 250;
  const maxMs = options.backoffMaxMs ?? 30_000;
  return new Observable<StreamSignal>((subscriber) => {
    const stop = new AbortController();
    let lastIndex = options.fromIndex ?? 0;
    const run = async () => {
      let failures = 0;
      let attempts = 0;
      while (!stop.signal.aborted) {
        const attempt = new AbortController();
        const signal = AbortSignal.any([stop.signal, attempt.signal]);
        let stalled = false;
        let watchdog: NodeJS.Timeout | undefined;
        const arm = () => {
          clearTimeout(watchdog);
          watchdog = setTimeout(() => {
            stalled = true;
            attempt.abort(new Error(`no event or heartbeat for ${stallMs} ms`));
          }, stallMs);
        };
        attempts++;
        try {
          const query = new URLSearchParams();
          for (const topic of options.topics ?? DEFAULT_TOPICS) query.append("topic", topic);
          query.set("namespace", options.namespace ?? "*");
          if (lastIndex > 0) query.set("index", String(lastIndex + 1));
          if (client.config.region) query.set("region", client.config.region);
          arm();
          const { config, dispatcher } = client.streamConfig();
          const stream = await openStream(
            config,
            dispatcher,
            "/v1/event/stream",
            query,
            "/v1/event/stream",
            signal,
            stallMs + 5_000, // Nomad may hold the headers until the first heartbeat
          );
          // Anything may have happened since the subscriber's first list: after any failed, stalled
          // or closed attempt, ask for a re-list.
          if (attempts > 1) subscriber.next({ type: "resync", cause: "reconnected" });
          const lines = new LineSplitter();
          for await (const chunk of stream.body) {
            arm();
            failures = 0;
            for (const line of lines.push(chunk as Uint8Array)) {
              const frame = JSON.parse(line) as NomadEventFrame;
              if (frame.Index === undefined || !frame.Events?.length) continue; // `{}` heartbeat
              if (frame.Index <= lastIndex) continue; // replayed after a resume
              lastIndex = frame.Index;
              subscriber.next({ type: "events", index: frame.Index, events: frame.Events });
            }
          }
          if (!stop.signal.aborted) watchRestarts.inc({ watch: "nomad-events", cause: "closed" });
        } catch (error) {
          if (stop.signal.aborted) break;
          watchRestarts.inc({ watch: "nomad-events", cause: stalled ? "stalled" : "error" });
          if (!stalled) {
            failures++;
            options.onError?.(error);
          }
        } finally {
          clearTimeout(watchdog);
          attempt.abort();
        }
        if (stop.signal.aborted) break;
        const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(failures, 16));
        await sleep(failures === 0 ? baseMs : ceiling / 2 + Math.random() * (ceiling / 2), stop.signal);
      }
    };
    run().then(
      () => subscriber.complete(),
      (error: unknown) => subscriber.error(error),
    );
    return () => stop.abort();
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

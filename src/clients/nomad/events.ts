// ONE event stream for everything the operator owns: /v1/event/stream?topic=Job:*&topic=Allocation:*
// across namespaces, filtered by the subscriber. A state machine: connect from the last index seen;
// on error back off (bounded exponential, with jitter); a stall watchdog aborts a stream that has
// sent nothing (not even its `{}` heartbeat) for longer than `stallMs`; an `interrupted` signal as
// soon as an attempt fails, stalls or closes; after every reconnect a `resync` signal tells the subscriber to re-list, because the server keeps only a small buffer
// (event_buffer_size, 100 raft indexes by default) and may have dropped some while we were away.
// What Nomad 1.9.6 does (nomad/stream/event_broker.go, event_buffer.go, ndjson.go,
// nomad/event_endpoint.go): `index=N` starts AT the item with index N (or the next one), an index past
// the newest starts at the newest item, heartbeats `{}` come at connect and every 30 s. An index lower
// than one already seen means the server's state was reset (a new cluster, a restored snapshot): the
// cursor follows the server down and the subscriber re-lists.

import { Observable } from "rxjs";
import { backoffDelay, pause } from "../../api/backoff.ts";
import { watchRestarts } from "../../observability/metrics.ts";
import type { NomadClient } from "./client.ts";
import { LineSplitter } from "./frames.ts";
import { openStream } from "./stream.ts";
import type { NomadEvent, NomadEventFrame } from "./types.ts";

export type StreamSignal =
  | { readonly type: "events"; readonly index: number; readonly events: readonly NomadEvent[] }
  | {
      readonly type: "resync";
      readonly cause: string;
      /** The server's index went back (its state was reset): indexes seen before mean nothing now. */
      readonly reset?: boolean;
    }
  /**
   * The stream failed, stalled or closed: from now until the `resync` after the reconnect, events
   * may be missed (a cache fed by the stream must stop answering from it).
   */
  | { readonly type: "interrupted"; readonly cause: string };

export interface EventStreamOptions {
  topics?: readonly string[];
  namespace?: string;
  /** A stream silent (no event, no `{}`) for longer than this is restarted; default 2 × HEARTBEAT_MS. */
  stallMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Index to resume from (events with a greater index are delivered). */
  fromIndex?: number;
  onError?: (error: unknown) => void;
}

export const DEFAULT_TOPICS = ["Job:*", "Allocation:*"] as const;

/** Nomad's event stream heartbeat (nomad/event_endpoint.go: stream.NewJsonStream(ctx, 30*time.Second)). */
export const HEARTBEAT_MS = 30_000;

/** Two heartbeats: a loaded server (or a proxy holding a chunk) may deliver one late. */
export const DEFAULT_STALL_MS = 2 * HEARTBEAT_MS;

export function nomadEventStream(
  client: NomadClient,
  options: EventStreamOptions = {},
): Observable<StreamSignal> {
  const stallMs = options.stallMs ?? DEFAULT_STALL_MS;
  const baseMs = options.backoffBaseMs ?? 250;
  const maxMs = options.backoffMaxMs ?? 30_000;
  return new Observable<StreamSignal>((subscriber) => {
    const stop = new AbortController();
    /** Where to resume: the last index delivered, or the caller's starting point. */
    let lastIndex = options.fromIndex ?? 0;
    /** The last index this stream delivered (0 before the first event). */
    let seenIndex = 0;
    const run = async () => {
      let failures = 0;
      let attempts = 0;
      while (!stop.signal.aborted) {
        const attempt = new AbortController();
        const signal = AbortSignal.any([stop.signal, attempt.signal]);
        let stalled = false;
        let watchdog: NodeJS.Timeout | undefined;
        // One timer per attempt, pushed back on every chunk (refresh: no new timer per chunk).
        const arm = () => {
          if (watchdog) {
            watchdog.refresh();
            return;
          }
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
              if (frame.Index < seenIndex) {
                // Lower than an index this stream delivered: the server's state was reset. Follow it
                // down, and have the subscriber re-list (what it knew may be gone).
                watchRestarts.inc({ watch: "nomad-events", cause: "index-reset" });
                subscriber.next({
                  type: "resync",
                  cause: `index went back from ${seenIndex} to ${frame.Index}: Nomad's state was reset`,
                  reset: true,
                });
              } else if (frame.Index <= lastIndex) continue; // at or before the resume point
              lastIndex = frame.Index;
              seenIndex = frame.Index;
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
          if (!stop.signal.aborted)
            subscriber.next({ type: "interrupted", cause: stalled ? "stalled" : "failed or closed" });
        }
        if (stop.signal.aborted) break;
        await pause(
          failures === 0 ? baseMs : backoffDelay(failures, { initialMs: baseMs, maxMs, jitter: 0.5 }),
          stop.signal,
        );
      }
    };
    run().then(
      () => subscriber.complete(),
      (error: unknown) => subscriber.error(error),
    );
    return () => stop.abort();
  });
}

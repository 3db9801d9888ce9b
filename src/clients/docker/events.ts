// ONE Docker event stream (GET /events, JSON lines) as an Observable, written as the state machine
// every watch here follows: connect → stream → (end | error | stall) → back off → reconnect with
// `since` = the last event seen (the engine replays from its small in-memory buffer; replays are
// dropped here), then emit `resync` so consumers re-list what they own: events lost while
// disconnected (the buffer holds 256) are never relied upon. A quiet stream is restarted by the
// watchdog after `stallMs` (Docker sends no heartbeats), so a half-open connection cannot silence it;
// that restart resumes with `since` and asks for no re-list (an idle operator stays idle).
// Label filters are the caller's: the TrainingJob scheduler and the MlopsStack reconciler share it.

import type { GetEventsOptions } from "dockerode";
import type { Logger } from "pino";
import { Observable, share } from "rxjs";
import { backoffDelay, pause } from "../../api/backoff.ts";
import { watchRestarts } from "../../observability/metrics.ts";
import type { DockerConnection } from "./connect.ts";

export interface DockerEvent {
  readonly Type: string;
  readonly Action: string;
  readonly Actor: { readonly ID: string; readonly Attributes: Readonly<Record<string, string>> };
  readonly time: number;
  readonly timeNano: number;
}

export type DockerEventMessage =
  | { readonly type: "event"; readonly event: DockerEvent }
  /** The stream (re)connected after a gap: re-list, events may have been missed. */
  | { readonly type: "resync"; readonly cause: string }
  /**
   * A connected stream ended or failed (not a watchdog restart): the engine went away or the path to
   * it did, at `at` (epoch ms). The next `resync` says it is back.
   */
  | { readonly type: "lost"; readonly at: number; readonly cause: string };

export interface DockerEventFilters {
  readonly type?: readonly string[];
  /** `key` or `key=value`; every one must match (Docker ANDs label filters). */
  readonly label?: readonly string[];
  /** Actions, e.g. die, oom, destroy, start, stop. */
  readonly event?: readonly string[];
}

export interface DockerEventsOptions {
  readonly filters: DockerEventFilters;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Restart a stream silent for this long (0: never). Default 5 minutes. */
  readonly stallMs?: number;
  /** Metric label of mlops_watch_restarts_total. */
  readonly watch?: string;
  /** Emit `resync` after the first connection too (default: only after reconnects). */
  readonly resyncOnFirstConnect?: boolean;
  readonly log?: Logger;
}

type StreamEnd = "ended" | "stalled";

/** Orders and de-duplicates events across reconnects; computes the `since` to resume from. */
export class EventCursor {
  #lastNano = 0;
  #seenAtLast = new Set<string>();

  /** True when the event is new (not a replay of one already delivered). */
  accept(event: DockerEvent): boolean {
    const nano = event.timeNano || event.time * 1e9;
    const id = `${event.Actor.ID}|${event.Action}`;
    if (nano < this.#lastNano) return false;
    if (nano === this.#lastNano) {
      if (this.#seenAtLast.has(id)) return false;
      this.#seenAtLast.add(id);
      return true;
    }
    this.#lastNano = nano;
    this.#seenAtLast = new Set([id]);
    return true;
  }

  /** `seconds.nanoseconds` a little before the last event (timeNano loses precision as a double). */
  since(): string | undefined {
    if (this.#lastNano === 0) return undefined;
    const nanos = BigInt(Math.floor(this.#lastNano)) - 1000n;
    const seconds = nanos / 1_000_000_000n;
    return `${seconds}.${String(nanos % 1_000_000_000n).padStart(9, "0")}`;
  }
}

/** Reconnect delays: 250 ms doubling to 30 s, ±50 % jitter (streams of many operators spread out). */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random = Math.random): number {
  return backoffDelay(attempt, { initialMs, maxMs, jitter: 0.5 }, random);
}

export function dockerEvents(
  conn: DockerConnection,
  options: DockerEventsOptions,
): Observable<DockerEventMessage> {
  const initialMs = options.initialBackoffMs ?? 250;
  const maxMs = options.maxBackoffMs ?? 30_000;
  const stallMs = options.stallMs ?? 5 * 60_000;
  const watch = options.watch ?? "docker-events";
  const filters: Record<string, string[]> = { type: [...(options.filters.type ?? ["container"])] };
  if (options.filters.label?.length) filters.label = [...options.filters.label];
  if (options.filters.event?.length) filters.event = [...options.filters.event];

  return new Observable<DockerEventMessage>((subscriber) => {
    const abort = new AbortController();
    const cursor = new EventCursor();
    let attempt = 0;
    let connections = 0;
    /** Why the previous connection ended: after a watchdog restart the engine's replay covers the gap. */
    let previous: string | undefined;
    /** A connection was up since the last `lost`: the next end that is not a stall is announced. */
    let up = false;

    const streamOnce = async (): Promise<StreamEnd> => {
      const since = cursor.since();
      const query: { filters: Record<string, string[]>; since?: string } = { filters };
      if (since !== undefined) query.since = since;
      // The watchdog covers the connect too: an engine that never answers the request is a stall.
      const attemptAbort = new AbortController();
      const onOuterAbort = (): void => attemptAbort.abort();
      abort.signal.addEventListener("abort", onOuterAbort, { once: true });
      let connectStalled = false;
      const connectTimer =
        stallMs > 0
          ? setTimeout(() => {
              connectStalled = true;
              attemptAbort.abort();
            }, stallMs)
          : undefined;
      let stream: NodeJS.ReadableStream & { destroy(): void };
      try {
        stream = (await conn.call("/events", "watching container events", (docker) =>
          docker.getEvents({ ...query, abortSignal: attemptAbort.signal } as unknown as GetEventsOptions),
        )) as NodeJS.ReadableStream & { destroy(): void };
      } catch (error) {
        if (connectStalled) return "stalled";
        throw error;
      } finally {
        clearTimeout(connectTimer);
        abort.signal.removeEventListener("abort", onOuterAbort);
      }
      connections += 1;
      attempt = 0;
      up = true;
      const gap = connections > 1 && previous !== "stalled";
      if (gap) options.log?.info({ watch }, "Docker event stream connected again");
      if (gap || (connections === 1 && options.resyncOnFirstConnect)) {
        subscriber.next({ type: "resync", cause: connections > 1 ? "reconnect" : "connect" });
      }
      return await new Promise<StreamEnd>((resolve, reject) => {
        let buffered = "";
        let watchdog: NodeJS.Timeout | undefined;
        const settle = (end: StreamEnd | Error): void => {
          if (watchdog) clearTimeout(watchdog);
          abort.signal.removeEventListener("abort", onAbort);
          stream.removeAllListeners("data");
          stream.destroy();
          if (end instanceof Error) reject(end);
          else resolve(end);
        };
        const arm = (): void => {
          if (stallMs <= 0) return;
          if (watchdog) clearTimeout(watchdog);
          watchdog = setTimeout(() => settle("stalled"), stallMs);
        };
        const onAbort = (): void => settle("ended");
        abort.signal.addEventListener("abort", onAbort, { once: true });
        arm();
        stream.on("data", (chunk: Buffer | string) => {
          arm();
          buffered += chunk.toString();
          let newline = buffered.indexOf("\n");
          while (newline >= 0) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            newline = buffered.indexOf("\n");
            if (line === "") continue;
            try {
              const event = JSON.parse(line) as DockerEvent;
              if (event.Actor && cursor.accept(event)) subscriber.next({ type: "event", event });
            } catch {
              options.log?.warn({ watch, line: line.slice(0, 200) }, "unparseable Docker event line skipped");
            }
          }
        });
        stream.on("end", () => settle("ended"));
        stream.on("close", () => settle("ended"));
        stream.on("error", (error: Error) => settle(error));
      });
    };

    const loop = async (): Promise<void> => {
      while (!abort.signal.aborted) {
        let cause: string;
        try {
          cause = await streamOnce();
          previous = cause;
        } catch (error) {
          cause = "error";
          previous = cause;
          options.log?.warn(
            { watch, err: error instanceof Error ? error.message : String(error) },
            "Docker event stream failed",
          );
        }
        if (abort.signal.aborted) return;
        if (up && cause !== "stalled") {
          up = false;
          subscriber.next({ type: "lost", at: Date.now(), cause });
        }
        watchRestarts.inc({ watch, cause });
        const delay = cause === "stalled" ? 0 : backoffMs(attempt++, initialMs, maxMs);
        options.log?.debug({ watch, cause, delay }, "Docker event stream restarting");
        await pause(delay, abort.signal);
      }
    };
    loop().catch((error: unknown) => subscriber.error(error));
    return () => abort.abort();
  });
}

/**
 * The operator's one container event stream: every container carrying its owner id (TrainingJob
 * replicas and stack components alike), shared by all subscribers (DockerScheduler's `events`
 * option, the MlopsStack reconciler), which pick their own actions and keys from the labels.
 */
export function ownedContainerEvents(
  conn: DockerConnection,
  ownerId: string,
  options: Omit<DockerEventsOptions, "filters"> = {},
): Observable<DockerEventMessage> {
  return dockerEvents(conn, {
    watch: "docker-owned",
    ...options,
    filters: { type: ["container"], label: [`mlops.dev/owner-id=${ownerId}`] },
  }).pipe(share());
}

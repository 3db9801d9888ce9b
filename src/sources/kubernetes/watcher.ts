// One list+watch of one resource, as an explicit state machine (client-go's reflector, kube-rs's
// watcher):
//   listing  ──complete list──▶ watching (from the list's resourceVersion)
//   listing  ──error──────────▶ backoff ──▶ listing            (nothing applied: a failed list prunes nothing)
//   watching ──410 Gone / ERROR event code 410──▶ listing       (the version is too old: list again)
//   watching ──server closed it (timeoutSeconds)──▶ watching    (from the last version seen)
//   watching ──silent for stallMs (watchdog)────▶ watching      (restarted, counted as a Stall)
//   watching ──any other error──▶ backoff ──▶ watching
// Backoff is exponential, bounded, with jitter, and resets after a success. BOOKMARK events only
// move the version. stop() ends every state promptly.

import type { Logger } from "pino";
import { backoffDelay } from "../../api/backoff.ts";
import { messageOf } from "../../api/errors.ts";
import { watchRestarts } from "../../observability/metrics.ts";
import { codeOf, KubernetesError, parseStatus, type RawObject, type WatchEventType } from "./api.ts";

/** A real API server sends a BOOKMARK about once a minute to a watch that asks for them. */
export const DEFAULT_STALL_MS = 90_000;

export type WatchPhase = "idle" | "listing" | "watching" | "backoff" | "stopped";

export interface WatchLoopOptions {
  /** For logs and the mlops_watch_restarts_total label: "kubernetes/trainingjobs". */
  readonly name: string;
  /** A complete list (every page) and its resourceVersion. */
  list(): Promise<{ items: RawObject[]; resourceVersion: string }>;
  watch(
    resourceVersion: string,
    onEvent: (type: WatchEventType, object: unknown) => void,
    done: (error: unknown) => void,
  ): Promise<{ abort(): void }>;
  /** A complete list arrived: the source replaces what it knows of this kind. */
  onList(items: RawObject[]): void;
  onEvent(type: "ADDED" | "MODIFIED" | "DELETED", object: RawObject): void;
  /** A watch silent this long is restarted (default 90 s; the server's bookmarks keep it talking). */
  readonly stallMs?: number;
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  readonly random?: () => number;
  readonly log?: Logger;
}

type Outcome =
  | { kind: "gone" }
  | { kind: "closed"; quick: boolean }
  | { kind: "stalled" }
  | { kind: "error"; error: unknown }
  | { kind: "stopped" };

export class WatchLoop {
  readonly stats = { lists: 0, watches: 0, gone: 0, stalls: 0, errors: 0 };
  /** The last backoff delays in ms (at most 20), oldest first. */
  readonly delays: number[] = [];
  readonly #options: WatchLoopOptions;
  #phase: WatchPhase = "idle";
  #resourceVersion = "";
  #lastError: unknown;
  #stopped = false;
  #cancel: (() => void) | undefined;
  #running: Promise<void> | undefined;
  #listed: () => void = () => {};
  /** Resolves after the first complete list. */
  readonly listed: Promise<void>;

  constructor(options: WatchLoopOptions) {
    this.#options = options;
    this.listed = new Promise((resolve) => {
      this.#listed = resolve;
    });
  }

  get phase(): WatchPhase {
    return this.#phase;
  }

  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  get lastError(): unknown {
    return this.#lastError;
  }

  start(): void {
    this.#running ??= this.#run().catch((error: unknown) => {
      this.#options.log?.error({ err: error, watch: this.#options.name }, "watch loop failed");
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancel?.();
    await this.#running;
    this.#phase = "stopped";
  }

  async #run(): Promise<void> {
    let next: "list" | "watch" = "list";
    let failures = 0;
    while (!this.#stopped) {
      if (next === "list") {
        this.#phase = "listing";
        try {
          const list = await this.#options.list();
          if (this.#stopped) return;
          this.stats.lists++;
          this.#resourceVersion = list.resourceVersion;
          this.#options.onList(list.items);
          this.#listed();
          failures = 0;
          next = "watch";
        } catch (error) {
          this.#failed(error, "list");
          await this.#backoff(++failures);
          continue;
        }
      }
      this.#phase = "watching";
      this.stats.watches++;
      const outcome = await this.#session();
      switch (outcome.kind) {
        case "stopped":
          return;
        case "gone":
          this.stats.gone++;
          watchRestarts.inc({ watch: this.#options.name, cause: "Expired" });
          this.#options.log?.info(
            { watch: this.#options.name },
            "watch version expired (410 Gone): listing again",
          );
          next = "list";
          break;
        case "stalled":
          this.stats.stalls++;
          watchRestarts.inc({ watch: this.#options.name, cause: "Stall" });
          this.#options.log?.warn({ watch: this.#options.name }, "watch silent too long: restarted");
          break;
        case "closed":
          // A normal end (timeoutSeconds): resume from the last version; a watch that ends at once
          // every time must not spin.
          if (outcome.quick) await this.#backoff(++failures);
          else failures = 0;
          break;
        case "error":
          this.#failed(outcome.error, "watch");
          if (codeOf(outcome.error) === 410) {
            next = "list";
            break;
          }
          await this.#backoff(++failures);
          break;
      }
    }
  }

  #failed(error: unknown, what: string): void {
    this.stats.errors++;
    this.#lastError = error;
    const cause = error instanceof KubernetesError ? error.reason : "Error";
    watchRestarts.inc({ watch: this.#options.name, cause });
    this.#options.log?.warn({ watch: this.#options.name, err: messageOf(error) }, `${what} failed: retrying`);
  }

  /** One watch from the current version, until it ends, fails, stalls or the loop stops. */
  #session(): Promise<Outcome> {
    const stallMs = this.#options.stallMs ?? DEFAULT_STALL_MS;
    const started = performance.now();
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      let handle: { abort(): void } | undefined;
      let timer: NodeJS.Timeout | undefined;
      const finish = (outcome: Outcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#cancel = undefined;
        handle?.abort();
        resolve(outcome);
      };
      const arm = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => finish({ kind: "stalled" }), stallMs);
      };
      this.#cancel = () => finish({ kind: "stopped" });
      arm();
      const onEvent = (type: WatchEventType, object: unknown): void => {
        if (settled) return;
        arm();
        if (type === "ERROR") {
          const status = parseStatus(object);
          const code = status?.code ?? 0;
          const message = `${this.#options.name}: watch ERROR event: ${code} ${status?.reason ?? ""}: ${status?.message ?? ""}`;
          finish(
            code === 410
              ? { kind: "gone" }
              : { kind: "error", error: new KubernetesError(code, status?.reason, message) },
          );
          return;
        }
        const rv = (object as RawObject | null)?.metadata?.resourceVersion;
        if (typeof rv === "string" && rv !== "") this.#resourceVersion = rv;
        if (type === "BOOKMARK") return;
        try {
          this.#options.onEvent(type, object as RawObject);
        } catch (error) {
          this.#options.log?.error({ err: error, watch: this.#options.name }, "watch event handler failed");
        }
      };
      const done = (error: unknown): void => {
        if (!error) finish({ kind: "closed", quick: performance.now() - started < 1000 });
        else if (isTimeout(error)) {
          finish({ kind: "stalled" }); // the client's own inactivity timeout
        } else finish({ kind: "error", error });
      };
      this.#options.watch(this.#resourceVersion, onEvent, done).then(
        (h) => {
          handle = h;
          if (settled) h.abort();
        },
        (error: unknown) => finish({ kind: "error", error }),
      );
    });
  }

  /** Sleeps min(max, initial·2^(n-1)) with ±25% jitter, or until stop(). */
  #backoff(failures: number): Promise<void> {
    this.#phase = "backoff";
    const initial = this.#options.backoffInitialMs ?? 500;
    const max = this.#options.backoffMaxMs ?? 30_000;
    const random = this.#options.random ?? Math.random;
    const delay = backoffDelay(failures - 1, { initialMs: initial, maxMs: max, jitter: 0.25 }, random);
    this.delays.push(delay);
    if (this.delays.length > 20) this.delays.shift();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#cancel = undefined;
        resolve();
      }, delay);
      this.#cancel = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** The client's own inactivity timeout (a DOMException named TimeoutError), possibly wrapped. */
function isTimeout(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { name?: unknown }).name === "TimeoutError") return true;
  }
  return false;
}

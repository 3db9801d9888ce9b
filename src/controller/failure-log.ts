// The log lines of failed reconciles. A failure of one resource is its own line. An outage (a server
// that does not answer, or answers 5xx) fails every resource whose reconcile needs the server (with
// Nomad's event stream down, every observe reads the server), each again at every retry of its
// backoff: n resources, n error lines at the next resync and n more per round of retries, burying
// everything else in the log. While a reason of an
// outage repeats, its first failure is a line as before and the next ones within SUMMARY_MS are
// counted (each a debug line) into one line at the window's end, with how many failed and an
// example; a window with none ends it, and the next failure is a line of its own again. What is down
// is on /readyz all along, and each resource's status and events still say it. At shutdown the
// reconciles in flight are aborted (up to --concurrency of them): one line at the end counts them.
import type { Logger } from "pino";

/** How long the failures of one outage reason are counted into one line. */
export const SUMMARY_MS = 30_000;

/** A reason that says a server is out (it does not answer, or fails), not that the resource is wrong. */
export function isOutage(reason: string): boolean {
  return reason.endsWith("Unavailable") || reason === "NomadError";
}

export interface Failure {
  readonly key: string;
  readonly reason: string;
  readonly class: string;
  /** When it is retried; undefined: not retried (the controller is stopping). */
  readonly retryInMs: number | undefined;
  /** Never retried: the resource must change first. */
  readonly terminal: boolean;
}

interface Window {
  /** Failures counted since the window opened (not logged one by one at info and above). */
  count: number;
  /** The first of them, as an example in the summary. */
  example: string | undefined;
  readonly timer: NodeJS.Timeout;
}

export class FailureLog {
  readonly #log: Logger;
  readonly #summaryMs: number;
  /** Open windows by outage reason. */
  readonly #windows = new Map<string, Window>();
  /** Reconciles that failed as the controller stopped (not retried): counted into one line at close. */
  readonly #stopped: { count: number; example: string | undefined } = { count: 0, example: undefined };

  constructor(log: Logger, summaryMs = SUMMARY_MS) {
    this.#log = log;
    this.#summaryMs = summaryMs;
  }

  failed(failure: Failure, message: string): void {
    const { key, reason, retryInMs, terminal } = failure;
    if (terminal) {
      this.#log.warn(failure, `${key}: ${message} (not retried)`);
      return;
    }
    if (retryInMs === undefined) {
      this.#stopped.count++;
      this.#stopped.example ??= `${key}: ${message}`;
      this.#log.debug(failure, `${key}: ${message} (stopping, not retried)`);
      return;
    }
    const line = `${key}: ${message} (retry in ${retryInMs} ms)`;
    const window = isOutage(reason) ? this.#windows.get(reason) : undefined;
    if (window) {
      window.count++;
      window.example ??= line;
      this.#log.debug(failure, line);
      return;
    }
    this.#log.error(failure, line);
    if (isOutage(reason)) this.#open(reason);
  }

  /** Logs what the open windows and the shutdown counted and closes them (the controller stopped). */
  close(): void {
    for (const [reason, window] of this.#windows) {
      clearTimeout(window.timer);
      this.#summarize(reason, window);
    }
    this.#windows.clear();
    const { count, example } = this.#stopped;
    if (count > 0)
      this.#log.info(
        { stopped: count },
        `${count} reconcile(s) in flight stopped with the controller, not retried (e.g. ${example})`,
      );
    this.#stopped.count = 0;
    this.#stopped.example = undefined;
  }

  #open(reason: string): void {
    const window: Window = {
      count: 0,
      example: undefined,
      timer: setTimeout(() => {
        this.#windows.delete(reason);
        // A window that counted failures opens the next one: the outage goes on.
        if (this.#summarize(reason, window)) this.#open(reason);
      }, this.#summaryMs).unref(),
    };
    this.#windows.set(reason, window);
  }

  /** One line for the window's failures; false when it counted none. */
  #summarize(reason: string, window: Window): boolean {
    if (window.count === 0) return false;
    const seconds = Math.round(this.#summaryMs / 1000);
    this.#log.error(
      { reason, failures: window.count, windowS: seconds },
      `${reason}: ${window.count} more failed reconcile(s) in ${seconds} s, each retried with backoff ` +
        `(one at debug level each; e.g. ${window.example})`,
    );
    return true;
  }
}

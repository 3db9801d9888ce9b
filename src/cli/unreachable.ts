// `run --once` gives up when a scheduler it needs stays unreachable: a CI step or a pre-merge check
// wants the answer in seconds, not after the whole --timeout. Transient errors are retried by the
// controller inside the window; the watch only decides when the window has run out.
import { classOf, messageOf, OperatorError, reasonOf } from "../api/errors.ts";
import type { ResourceKey } from "../api/resources.ts";
import type { Dispatch, ErrorReport } from "../controller/controller.ts";
import type { ReconcileOutcomes } from "./compose.ts";

/** Reasons that mean "the scheduler did not answer", not "the resource is wrong". */
const UNREACHABLE = new Set(["NomadUnavailable", "DockerUnavailable", "SchedulerUnavailable"]);

export interface Timers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: Timers = {
  set: (callback, ms) => setTimeout(callback, ms).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export class UnreachableWatch implements ReconcileOutcomes {
  readonly #limitMs: number;
  readonly #timers: Timers;
  /** Keys whose latest reconcile failed because a scheduler did not answer: the last report each. */
  readonly #failing = new Map<ResourceKey, ErrorReport>();
  #timer: unknown;
  #giveUp: ((report: ErrorReport) => void) | undefined;
  readonly gaveUp: Promise<ErrorReport>;

  constructor(limitMs: number, timers: Timers = realTimers) {
    this.#limitMs = limitMs;
    this.#timers = timers;
    this.gaveUp = new Promise((resolve) => {
      this.#giveUp = resolve;
    });
  }

  succeeded(key: ResourceKey): void {
    this.#failing.delete(key);
    if (this.#failing.size === 0) this.#stopTimer();
  }

  failed(report: ErrorReport): void {
    if (!UNREACHABLE.has(report.reason)) {
      this.succeeded(report.key);
      return;
    }
    this.#failing.set(report.key, report);
    this.#timer ??= this.#timers.set(() => this.#expire(), this.#limitMs);
  }

  close(): void {
    this.#stopTimer();
  }

  #expire(): void {
    this.#timer = undefined;
    const report = [...this.#failing.values()].at(-1);
    if (report) this.#giveUp?.(report);
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) this.#timers.clear(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * `run --once`: a key whose reconcile keeps failing with an error the controller retries (transient),
 * but a scheduler's unreachability (which ends the pass: UnreachableWatch), is retried no more once
 * it has failed for `windowMs`: its error is thrown again as stalled, so the pass ends with the key
 * failed (exit 1) instead of retrying it until --timeout (a Nomad namespace that does not exist held
 * a pass for the whole 5 minutes). The other keys go on.
 */
export class OnceRetryWindow {
  readonly #windowMs: number;
  readonly #now: () => number;
  /** Keys failing with retried errors since (the clock's ms) their first failure of this streak. */
  readonly #since = new Map<ResourceKey, number>();

  constructor(windowMs: number, now: () => number = () => performance.now()) {
    this.#windowMs = windowMs;
    this.#now = now;
  }

  wrap(dispatch: Dispatch): Dispatch {
    return async (key, signal) => {
      try {
        const action = await dispatch(key, signal);
        this.#since.delete(key);
        return action;
      } catch (error) {
        if (signal.aborted || classOf(error) !== "transient" || UNREACHABLE.has(reasonOf(error))) {
          if (classOf(error) !== "transient") this.#since.delete(key);
          throw error;
        }
        const now = this.#now();
        const since = this.#since.get(key) ?? now;
        this.#since.set(key, since);
        if (now - since < this.#windowMs) throw error;
        this.#since.delete(key);
        const seconds = Math.round((now - since) / 1000);
        throw new OperatorError(
          reasonOf(error),
          `${messageOf(error)} (failing for ${seconds} s: not retried again in this pass; --unreachable-timeout)`,
          { terminal: true, cause: error },
        );
      }
    };
  }
}

/** Which setting chose an address named in a message: the flag, the variable, or neither. */
export function addressOrigin(
  message: string,
  settings: { readonly nomadFlag?: string; readonly env: NodeJS.ProcessEnv },
): string {
  if (settings.nomadFlag && message.includes(settings.nomadFlag)) return `set by --nomad-addr`;
  if (settings.env.NOMAD_ADDR && message.includes(settings.env.NOMAD_ADDR)) return "set by NOMAD_ADDR";
  if (/docker/i.test(message)) {
    return settings.env.DOCKER_HOST
      ? `DOCKER_HOST=${settings.env.DOCKER_HOST}`
      : "the local engine at /var/run/docker.sock (DOCKER_HOST unset)";
  }
  return "an MlopsStack's Nomad (spec.stackRef)";
}

// `run --once` gives up when a scheduler it needs stays unreachable: a CI step or a pre-merge check
// wants the answer in seconds, not after the whole --timeout. Transient errors are retried by the
// controller inside the window; the watch only decides when the window has run out.
import type { ResourceKey } from "../api/resources.ts";
import type { ErrorReport } from "../controller/controller.ts";
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

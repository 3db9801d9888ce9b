// Readiness of the servers the operator needs: each dependency (the configured Nomad, the Docker
// engine, Consul, Grafana) is probed on an interval with a deadline; /readyz is 503 naming every
// one that did not answer, /metrics carries mlops_dependency_up. A change is logged once (down with
// the error's reason and message, then up again), so an outage never floods the log. While
// something is down it is probed every second, and a caller that saw a server fail can ask for a
// round at once (at most one a second). Listeners hear of each recovery (the composition root retries
// what failed meanwhile at once).
import type { Logger } from "pino";
import { messageOf, reasonOf } from "../api/errors.ts";
import { dependencyUp } from "./metrics.ts";

export interface Dependency {
  /** What and where, e.g. "nomad http://127.0.0.1:4646". */
  readonly name: string;
  /** Resolves when the server answers; throws otherwise. Aborted at the probe deadline. */
  probe(signal: AbortSignal): Promise<void>;
  /** False while the dependency is not needed (Docker with only Nomad jobs and no stack). */
  needed?(): boolean;
  /**
   * Runs depend on it (a scheduler): down makes /readyz 503. Otherwise (Consul, Grafana: runs go on
   * without them) it is listed as degraded.
   */
  readonly critical: boolean;
}

export interface ReadinessOptions {
  readonly log: Logger;
  /** Between probes (default 5 s). */
  readonly intervalMs?: number;
  /** A probe that has not answered by then counts as down (default 4 s). */
  readonly timeoutMs?: number;
}

interface State {
  down: string | undefined;
}

export class Readiness {
  readonly #deps: Dependency[] = [];
  readonly #state = new Map<string, State>();
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #lastRound = 0;
  readonly #recovered: ((name: string) => void)[] = [];

  constructor(options: ReadinessOptions) {
    this.#log = options.log;
    this.#intervalMs = options.intervalMs ?? 5_000;
    this.#timeoutMs = options.timeoutMs ?? 4_000;
  }

  add(dependency: Dependency): this {
    this.#deps.push(dependency);
    return this;
  }

  /** Why the operator is not ready: one line per critical dependency that is needed and down. */
  reasons(): string[] {
    return this.#down(true);
  }

  /** Non-critical dependencies that are down, one line each. */
  degraded(): string[] {
    return this.#down(false);
  }

  #down(critical: boolean): string[] {
    const out: string[] = [];
    for (const dep of this.#deps) {
      if (dep.critical !== critical) continue;
      const down = this.#state.get(dep.name)?.down;
      if (down !== undefined && (dep.needed?.() ?? true)) out.push(`${dep.name}: ${down}`);
    }
    return out;
  }

  /** Calls `listener` with a dependency's name each time it answers again after it was down. */
  onRecovered(listener: (name: string) => void): void {
    this.#recovered.push(listener);
  }

  /** Probes every dependency now (concurrently), then on the interval until stop(). */
  start(): Promise<void> {
    const first = this.probeAll();
    const tick = (): void => {
      // While something is down, look every second: recovery shows as soon as it happens.
      const down = [...this.#state.values()].some((state) => state.down !== undefined);
      this.#timer = setTimeout(
        () => {
          void this.probeAll().finally(() => {
            if (this.#timer) tick();
          });
        },
        down ? Math.min(1_000, this.#intervalMs) : this.#intervalMs,
      );
      this.#timer.unref();
    };
    tick();
    return first;
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * A round now, unless one ran within the last second: a caller that just saw a server fail
   * (a reconcile's NomadUnavailable) makes /readyz say so without waiting for the interval.
   */
  probeSoon(): void {
    if (this.#running || Date.now() - this.#lastRound < 1_000) return;
    void this.probeAll();
  }

  /** One round of probes; a round still running is joined rather than doubled. */
  probeAll(): Promise<void> {
    if (!this.#running) this.#lastRound = Date.now();
    this.#running ??= Promise.all(
      this.#deps.filter((d) => d.needed?.() ?? true).map((d) => this.#probe(d)),
    ).then(
      () => {
        this.#running = undefined;
      },
      () => {
        this.#running = undefined;
      },
    );
    return this.#running;
  }

  async #probe(dep: Dependency): Promise<void> {
    const state = this.#state.get(dep.name) ?? { down: undefined };
    this.#state.set(dep.name, state);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#timeoutMs);
    let down: string | undefined;
    try {
      await Promise.race([
        dep.probe(controller.signal),
        new Promise<never>((_, reject) =>
          controller.signal.addEventListener("abort", () =>
            reject(new Error(`no answer within ${this.#timeoutMs} ms`)),
          ),
        ),
      ]);
    } catch (error) {
      const reason = reasonOf(error);
      down = `${reason === "InternalError" ? "Unavailable" : reason}: ${oneLine(messageOf(error))}`;
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
    dependencyUp.set({ dependency: dep.name }, down === undefined ? 1 : 0);
    if (down !== state.down) {
      if (down !== undefined) this.#log.warn({ dependency: dep.name, err: down }, `${dep.name} is down`);
      else if (state.down !== undefined)
        this.#log.info({ dependency: dep.name }, `${dep.name} answers again`);
    }
    const recovered = down === undefined && state.down !== undefined;
    state.down = down;
    if (recovered) for (const listener of this.#recovered) listener(dep.name);
  }
}

function oneLine(text: string): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

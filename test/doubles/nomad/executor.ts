// Server: Nomad 1.9.6 (and 2.0.3 where noted), hashicorp/nomad. Follows:
// client/allocrunner/taskrunner/task_runner.go (task states).
// How the Nomad double runs allocations. The default does nothing by itself (tests script every
// move through NomadDouble.lifecycle); the simulated executor moves allocations pending → running
// on its own (and optionally to an exit), so a stand-in Nomad in a container shows real movement.
// A Docker-backed executor can implement the same interface in its own file.
import type { NomadAllocation, NomadJob } from "../../../src/clients/nomad/types.ts";
import type { ExitOptions } from "./lifecycle.ts";

/** What an executor may do to the allocation it runs. */
export interface AllocHandle {
  readonly alloc: Readonly<NomadAllocation>;
  readonly job: Readonly<NomadJob> | undefined;
  running(): void;
  exit(options: ExitOptions): void;
  driverFailure(message: string): void;
  log(task: string, text: string): void;
  /** The items of a Nomad Variable in the allocation's namespace (what its templates read). */
  variable(path: string): Readonly<Record<string, string>> | undefined;
}

export interface Executor {
  /** A new allocation was placed. */
  start(handle: AllocHandle): void;
  /** The allocation must stop (new job version, job stopped or purged). */
  stop(allocId: string): void;
  close(): Promise<void>;
}

/** Nothing moves unless the test says so. */
export class ScriptedExecutor implements Executor {
  start(): void {}
  stop(): void {}
  async close(): Promise<void> {}
}

export interface SimulatedOptions {
  /** Delay before pending → running. */
  startAfterMs?: number;
  /** When set, the task exits after running this long. */
  runForMs?: number;
  exitCode?: number;
}

export class SimulatedExecutor implements Executor {
  readonly #options: SimulatedOptions;
  readonly #timers = new Map<string, NodeJS.Timeout[]>();

  constructor(options: SimulatedOptions = {}) {
    this.#options = options;
  }

  start(handle: AllocHandle): void {
    const timers: NodeJS.Timeout[] = [];
    const startAfter = this.#options.startAfterMs ?? 200;
    timers.push(
      setTimeout(() => {
        handle.running();
        handle.log(handle.job?.TaskGroups[0]?.Tasks[0]?.Name ?? "main", `started ${handle.alloc.Name}\n`);
      }, startAfter),
    );
    if (this.#options.runForMs !== undefined) {
      const exitCode = this.#options.exitCode ?? 0;
      timers.push(setTimeout(() => handle.exit({ exitCode }), startAfter + this.#options.runForMs));
    }
    for (const t of timers) t.unref();
    this.#timers.set(handle.alloc.ID, timers);
  }

  stop(allocId: string): void {
    for (const t of this.#timers.get(allocId) ?? []) clearTimeout(t);
    this.#timers.delete(allocId);
  }

  async close(): Promise<void> {
    for (const id of [...this.#timers.keys()]) this.stop(id);
  }
}

// A recording double of the Scheduler port for reconciler scenario tests: it keeps runs in memory,
// records every call in order, and lets a test script what the "scheduler" reports.
import { Subject } from "rxjs";
import { OperatorError } from "../../src/api/errors.ts";
import type { ResourceKey } from "../../src/api/resources.ts";
import type {
  LogOptions,
  ObservedReplica,
  ObservedRun,
  OwnedRun,
  RunRequest,
  Scheduler,
} from "../../src/scheduler/port.ts";

export class RecordingScheduler implements Scheduler {
  readonly name = "docker" as const;
  readonly target = "recording://test";
  readonly calls: string[] = [];
  /** Every request submit() was given. */
  readonly submitted: RunRequest[] = [];
  readonly runs = new Map<string, ObservedRun>();
  readonly #changes = new Subject<ResourceKey>();
  unavailable = false;
  /** Thrown by submit() alone (a scheduler that answers but refuses the job: NamespaceNotFound). */
  refuseSubmit: OperatorError | undefined;
  /** Keep versions as Nomad does (off: as Docker, none): every write answers a new one. */
  versioned = false;
  /** The version each observe was given, in order. */
  readonly recordedVersions: (string | undefined)[] = [];
  #version = 0;

  render(run: RunRequest): unknown {
    return { image: run.spec.image, runId: run.runId };
  }

  async observe(key: RunRequest["key"], recorded?: string): Promise<ObservedRun | undefined> {
    this.#check();
    this.calls.push(`observe ${key.name}`);
    this.recordedVersions.push(recorded);
    return this.runs.get(key.name);
  }

  async submit(run: RunRequest): Promise<string | undefined> {
    this.#check();
    if (this.refuseSubmit) throw this.refuseSubmit;
    this.calls.push(`submit ${run.key.name} ${run.runId}`);
    this.submitted.push(run);
    const replicas: ObservedReplica[] = Array.from({ length: run.spec.replicas }, (_, index) => ({
      index,
      id: `${run.runId}-${index}`,
      state: "pending",
      restarts: 0,
    }));
    this.runs.set(run.key.name, {
      ownerId: run.ownerId,
      runId: run.runId,
      generation: run.generation,
      specHash: run.specHash,
      runSpecHash: run.runSpecHash,
      attempt: run.attempt ?? 1,
      stopped: false,
      replicas,
      ...this.#nextVersion(),
    });
    return this.runs.get(run.key.name)?.version;
  }

  /** Script: the object changed outside the operator (a new version, nothing else). */
  touch(name: string): string | undefined {
    const run = this.runs.get(name);
    if (run) this.runs.set(name, { ...run, ...this.#nextVersion() });
    return this.runs.get(name)?.version;
  }

  #nextVersion(): { version?: string } {
    return this.versioned ? { version: `v${++this.#version}` } : {};
  }

  async stop(key: RunRequest["key"], reason: string): Promise<string | undefined> {
    this.#check();
    this.calls.push(`stop ${key.name} ${reason}`);
    const run = this.runs.get(key.name);
    if (run)
      this.runs.set(key.name, {
        ...run,
        stopped: true,
        replicas: run.replicas.map((r) =>
          r.state === "running" || r.state === "pending" ? { ...r, state: "failed", exhausted: false } : r,
        ),
        ...this.#nextVersion(),
      });
    return this.runs.get(key.name)?.version;
  }

  async purge(key: RunRequest["key"]): Promise<void> {
    this.#check();
    this.calls.push(`purge ${key.name}`);
    this.runs.delete(key.name);
  }

  async listOwned(ownerId: string): Promise<OwnedRun[]> {
    return [...this.runs.entries()]
      .filter(([, run]) => run.ownerId === ownerId)
      .map(([name, run]) => ({ key: `TrainingJob/default/${name}` as ResourceKey, runId: run.runId }));
  }

  async *logs(_key: RunRequest["key"], _options: LogOptions): AsyncIterable<string> {
    yield "log line";
  }

  changes() {
    return this.#changes.asObservable();
  }

  /** Script: move every replica of a run to a state. */
  setReplicas(name: string, state: ObservedReplica["state"], extra: Partial<ObservedReplica> = {}): void {
    const run = this.runs.get(name);
    if (!run) throw new Error(`no run for ${name}`);
    this.runs.set(name, { ...run, replicas: run.replicas.map((r) => ({ ...r, state, ...extra })) });
  }

  #check(): void {
    if (this.unavailable) {
      throw new OperatorError("DockerUnavailable", "connection refused");
    }
  }

  async close(): Promise<void> {}
}

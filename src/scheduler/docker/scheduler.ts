// DockerScheduler: TrainingJob runs as containers on one Docker engine, one per replica. It does
// what the reconciler decides, faithfully, and reports what Docker says: the labels are the record
// of whose and which run, so a restarted operator finds its runs again. Never pulls an image (a
// missing one is ImageNotFound at once); never changes a container carrying another owner id.
import type { Logger } from "pino";
import { filter, from, merge, mergeMap, type Observable, of, Subject, share } from "rxjs";
import { OperatorError } from "../../api/errors.ts";
import { makeKey, type ResourceKey } from "../../api/resources.ts";
import type { DockerConnection } from "../../clients/docker/connect.ts";
import { isReason } from "../../clients/docker/errors.ts";
import { type DockerEventMessage, dockerEvents } from "../../clients/docker/events.ts";
import { keyFromLabels, LABEL, labelFilter } from "../../clients/docker/labels.ts";
import type { LogOptions, ObservedRun, OwnedRun, RunRequest, Scheduler } from "../port.ts";
import { DockerContainers, each, messageOf, nameOf, notOwned } from "./containers.ts";
import { logLines } from "./logs.ts";
import {
  type InspectedContainer,
  isStopMarked,
  isStoppedByHand,
  observedFrom,
  type RunMemo,
} from "./observe.ts";
import { EngineOutages } from "./outages.ts";
import { type ContainerSpec, type RenderOptions, renderRun, STOPPED_MARKER_POLICY } from "./render.ts";
import { planSubmit, type SubmitPlan } from "./submit-plan.ts";

type JobKey = RunRequest["key"];

export interface DockerSchedulerOptions extends RenderOptions {
  readonly connection: DockerConnection;
  /** This operator's owner id: stop, purge, logs and changes act only on containers carrying it. */
  readonly ownerId: string;
  /** Share one event stream with other consumers (ownedContainerEvents); default: a stream of its own. */
  readonly events?: Observable<DockerEventMessage>;
  /** Parallel container operations within one run. */
  readonly concurrency?: number;
  readonly log?: Logger;
}

/** The actions whose events requeue a TrainingJob. */
export const WATCHED_ACTIONS = ["die", "oom", "destroy", "start", "stop"] as const;

export class DockerScheduler implements Scheduler {
  readonly name = "docker" as const;
  readonly target: string;
  readonly #conn: DockerConnection;
  readonly #containers: DockerContainers;
  readonly #options: DockerSchedulerOptions;
  readonly #memos = new Map<ResourceKey, RunMemo>();
  /** When the event stream lost the engine: exits within are the engine's restart (DaemonRestarted). */
  readonly #outages = new EngineOutages();
  /** Outcomes no container holds (ImageNotFound...) produce no Docker event: announced here. */
  readonly #remembered = new Subject<ResourceKey>();
  /** Keys of changes() whose container died. */
  readonly #ended = new Subject<ResourceKey>();
  #changes: Observable<ResourceKey> | undefined;

  constructor(options: DockerSchedulerOptions) {
    this.#conn = options.connection;
    this.#containers = new DockerContainers(options.connection, options.log);
    this.#options = options;
    this.target = options.connection.target;
  }

  render(run: RunRequest): ContainerSpec[] {
    return renderRun(run, this.#options);
  }

  async observe(key: JobKey): Promise<ObservedRun | undefined> {
    const containers = await this.#byKey(key, false);
    return observedFrom(containers, this.#options.ownerId, this.#memos.get(keyOf(key)), this.#outages);
  }

  /** Docker keeps no version of a run's containers (one list answers observe): resolves to undefined. */
  async submit(run: RunRequest): Promise<undefined> {
    const existing = await this.#byKey(run.key, false);
    const plan = planSubmit(run, this.render(run), existing);
    if (plan.notOwned) throw notOwned(plan.notOwned, run.ownerId);
    const memo: RunMemo = {
      runId: run.runId,
      generation: run.generation,
      specHash: run.specHash,
      runSpecHash: run.runSpecHash,
      ownerId: run.ownerId,
      replicas: run.spec.replicas,
    };
    this.#memos.set(keyOf(run.key), memo);
    await this.#apply(plan, run, memo);
    return undefined;
  }

  async #apply(plan: SubmitPlan, run: RunRequest, memo: RunMemo): Promise<void> {
    const ops = this.#containers;
    await this.#each(plan.remove, (c) => ops.remove(c.Id, nameOf(c)));
    await this.#each(plan.restore, (c) => ops.setRestartPolicy(c, plan.policy));
    await this.#each(plan.update, (u) => ops.updateLimits(u.id, u.name, u.nanoCpus, u.memory));
    await this.#each(plan.start, (c) => ops.start(c.Id, nameOf(c)));
    try {
      await this.#each(plan.create, (spec) => this.#createAndStart(spec, run));
    } catch (error) {
      // No container can hold these outcomes: remember them for observe() (Docker stays the record).
      if (isReason(error, "ImageNotFound")) {
        this.#memos.set(keyOf(run.key), {
          ...memo,
          failure: { reason: "ImageNotFound", message: messageOf(error) },
        });
        this.#announce(run.key);
        return;
      }
      if (isReason(error, "DockerRejected")) {
        const said = messageOf(error);
        const outcome = /range of cpus|cpus? available|insufficient/i.test(said)
          ? { blocked: { reason: "Unschedulable" as const, message: said } }
          : { failure: { reason: "CreateContainerError" as const, message: said } };
        this.#memos.set(keyOf(run.key), { ...memo, ...outcome });
        await this.#purge(run.key, run.runId);
        this.#announce(run.key);
        return;
      }
      throw error;
    }
  }

  async #createAndStart(spec: ContainerSpec, run: RunRequest): Promise<void> {
    const ops = this.#containers;
    let id: string;
    try {
      id = await ops.create(spec.name, spec.body, spec.body.Image);
    } catch (error) {
      if (!isReason(error, "NameConflict")) throw error;
      // Another operator instance, a crash mid-submit, or a container made by hand holds the name.
      const holder = await ops.inspect(spec.name);
      if (!holder) throw error;
      const labels = holder.Config.Labels ?? {};
      if (labels[LABEL.ownerId] !== run.ownerId || labels[LABEL.managedBy] === undefined) {
        throw notOwned(holder, run.ownerId);
      }
      if (labels[LABEL.runId] === run.runId && labels[LABEL.runSpecHash] === run.runSpecHash) {
        if (holder.State.Status === "created" && !holder.State.Error) await ops.start(holder.Id, spec.name);
        return;
      }
      await ops.remove(holder.Id, spec.name);
      id = await ops.create(spec.name, spec.body, spec.body.Image);
    }
    await ops.start(id, spec.name);
  }

  /** Stops active replicas (keeping them: their exit is the record) and marks them stopped. */
  async stop(key: JobKey, reason: string): Promise<undefined> {
    const containers = await this.#byKey(key, true);
    const memo = this.#memos.get(keyOf(key));
    if (memo) this.#memos.set(keyOf(key), { ...memo, stopReason: stopReasonOf(reason) });
    const seconds = this.#options.stopTimeoutSeconds ?? 10;
    await this.#each(containers, async (c) => {
      const status = c.State.Status;
      const active = status === "running" || status === "restarting" || status === "paused";
      const pending = status === "created" && !c.State.Error;
      if (!active && !pending && !isStoppedByHand(c)) return; // finished: keep its exit as it is
      if (active) await this.#containers.stop(c.Id, nameOf(c), seconds);
      if (!isStopMarked(c)) await this.#containers.setRestartPolicy(c, STOPPED_MARKER_POLICY);
    });
    return undefined;
  }

  async purge(key: JobKey): Promise<void> {
    await this.#purge(key, undefined);
    this.#memos.delete(keyOf(key));
  }

  /** Removes this owner's containers of a resource (of one run only, when runId is given). */
  async #purge(key: JobKey, runId: string | undefined): Promise<void> {
    const labels = [labelFilter(LABEL.key, keyOf(key)), labelFilter(LABEL.ownerId, this.#options.ownerId)];
    if (runId) labels.push(labelFilter(LABEL.runId, runId));
    const list = await this.#containers.list(labels, `listing containers of ${keyOf(key)}`);
    await this.#each(list, (c) => this.#containers.remove(c.Id, c.Names?.[0] ?? c.Id));
  }

  async listOwned(ownerId: string): Promise<OwnedRun[]> {
    const list = await this.#containers.list(
      [labelFilter(LABEL.ownerId, ownerId)],
      `listing containers of owner ${ownerId}`,
    );
    const newest = new Map<ResourceKey, { created: number; runId: string | undefined }>();
    for (const c of list) {
      const key = keyFromLabels(c.Labels);
      if (!key?.startsWith("TrainingJob/")) continue;
      const seen = newest.get(key);
      if (!seen || c.Created > seen.created)
        newest.set(key, { created: c.Created, runId: c.Labels?.[LABEL.runId] });
    }
    return [...newest].map(([key, v]) => ({ key, runId: v.runId }));
  }

  async *logs(key: JobKey, options: LogOptions): AsyncIterable<string> {
    const containers = (await this.#byKey(key, true)).sort((a, b) => replicaIndex(a) - replicaIndex(b));
    const run = observedFrom(containers, this.#options.ownerId, undefined)?.runId;
    const targets = containers
      .filter((c) => c.Config.Labels?.[LABEL.runId] === run)
      .filter((c) => options.replica === undefined || replicaIndex(c) === options.replica)
      .map((c) => ({ id: c.Id, name: nameOf(c), replica: replicaIndex(c) }));
    if (targets.length === 0) {
      const which = options.replica === undefined ? "" : ` replica ${options.replica}`;
      throw new OperatorError(
        "NotFound",
        `no container of ${keyOf(key)}${which} on Docker engine ${this.target}`,
      );
    }
    yield* logLines(this.#conn, targets, options);
  }

  /** Keys of TrainingJobs whose containers died, were killed for memory, removed, started or stopped. */
  changes(): Observable<ResourceKey> {
    const ownerId = this.#options.ownerId;
    const events =
      this.#options.events ??
      dockerEvents(this.#conn, {
        filters: {
          type: ["container"],
          label: [labelFilter(LABEL.ownerId, ownerId)],
          event: [...WATCHED_ACTIONS],
        },
        watch: "docker-trainingjobs",
        ...(this.#options.log ? { log: this.#options.log } : {}),
      });
    this.#changes ??= merge(
      this.#remembered,
      events.pipe(
        mergeMap((message): Observable<ResourceKey | undefined> => {
          if (message.type === "lost") {
            this.#outages.lost(message.at);
            return of(undefined);
          }
          if (message.type === "resync") {
            this.#outages.back(Date.now());
            return from(this.#ownedKeys()).pipe(mergeMap((keys) => from(keys)));
          }
          const { event } = message;
          if (!(WATCHED_ACTIONS as readonly string[]).includes(event.Action)) return of(undefined);
          if (event.Actor.Attributes[LABEL.ownerId] !== ownerId) return of(undefined);
          const key = keyFromLabels(event.Actor.Attributes);
          if (event.Action === "die" && key?.startsWith("TrainingJob/")) this.#ended.next(key as ResourceKey);
          return of(key);
        }),
        filter((key): key is ResourceKey => key?.startsWith("TrainingJob/") === true),
      ),
    ).pipe(share());
    return this.#changes;
  }

  /** Keys of changes() whose container died (while changes() is subscribed). */
  endings(): Observable<ResourceKey> {
    return this.#ended.asObservable();
  }

  async close(): Promise<void> {
    this.#memos.clear();
    this.#remembered.complete();
  }

  /** Emitted after submit() returns, so the reconcile that submitted has written its status. */
  #announce(key: JobKey): void {
    setTimeout(() => this.#remembered.next(keyOf(key)), 0);
  }

  async #ownedKeys(): Promise<ResourceKey[]> {
    try {
      return (await this.listOwned(this.#options.ownerId)).map((o) => o.key);
    } catch (error) {
      this.#options.log?.warn({ err: messageOf(error) }, "re-list after the event stream reconnected failed");
      return [];
    }
  }

  #byKey(key: JobKey, ownOnly: boolean): Promise<InspectedContainer[]> {
    const labels = [labelFilter(LABEL.key, keyOf(key))];
    if (ownOnly) labels.push(labelFilter(LABEL.ownerId, this.#options.ownerId));
    return this.#containers.inspectAll(labels, `listing containers of ${keyOf(key)}`);
  }

  #each<T>(items: readonly T[], fn: (item: T) => Promise<unknown>): Promise<void> {
    return each(items, this.#options.concurrency ?? 8, fn);
  }
}

const keyOf = (key: JobKey): ResourceKey => makeKey("TrainingJob", key.namespace, key.name);
const replicaIndex = (c: InspectedContainer): number =>
  Number.parseInt(c.Config.Labels?.[LABEL.replica] ?? "-1", 10);

/** stop()'s `why` (suspend, failed, replaced) or a PascalCase reason → the replicas' reason while stopped. */
function stopReasonOf(reason: string): string {
  const known: Record<string, string> = { suspend: "Suspended", failed: "Stopped", replaced: "Replaced" };
  return known[reason] ?? (/^[A-Z][A-Za-z]+$/.test(reason) ? reason : "Stopped");
}

// DockerScheduler: TrainingJob runs as containers on one Docker engine, one per replica. It does
// what the reconciler decides, faithfully, and reports what Docker says: the labels are the record
// of whose and which run, so a restarted operator finds its runs again. Never pulls an image (a
// missing one is ImageNotFound at once); never changes a container carrying another owner id.
import type { ContainerInspectInfo } from "dockerode";
import type { Logger } from "pino";
import { filter, from, mergeMap, type Observable, of, share } from "rxjs";
import { OperatorError } from "../../api/errors.ts";
import { makeKey, type ResourceKey } from "../../api/resources.ts";
import type { DockerConnection } from "../../clients/docker/connect.ts";
import { isReason, statusOf } from "../../clients/docker/errors.ts";
import { type DockerEventMessage, dockerEvents } from "../../clients/docker/events.ts";
import { keyFromLabels, LABEL, labelFilter, MANAGED_BY } from "../../clients/docker/labels.ts";
import type { LogOptions, ObservedRun, OwnedRun, RunRequest, Scheduler } from "../port.ts";
import { logLines } from "./logs.ts";
import {
  type InspectedContainer,
  isStopMarked,
  isStoppedByHand,
  observedFrom,
  type RunMemo,
} from "./observe.ts";
import { type ContainerSpec, type RenderOptions, renderRun, STOPPED_MARKER_POLICY } from "./render.ts";
import { planSubmit, type SubmitPlan } from "./submit-plan.ts";

type JobKey = RunRequest["key"];

export interface DockerSchedulerOptions extends RenderOptions {
  readonly connection: DockerConnection;
  /** This operator's owner id: stop, purge, logs and changes act only on containers carrying it. */
  readonly ownerId: string;
  /** Share one event stream with other consumers (the stack reconciler); default: a stream of its own. */
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
  readonly #options: DockerSchedulerOptions;
  readonly #memos = new Map<ResourceKey, RunMemo>();
  #changes: Observable<ResourceKey> | undefined;

  constructor(options: DockerSchedulerOptions) {
    this.#conn = options.connection;
    this.#options = options;
    this.target = options.connection.target;
  }

  render(run: RunRequest): ContainerSpec[] {
    return renderRun(run, this.#options);
  }

  async observe(key: JobKey): Promise<ObservedRun | undefined> {
    const containers = await this.#inspectByKey(key, false);
    return observedFrom(containers, this.#options.ownerId, this.#memos.get(keyOf(key)));
  }

  async submit(run: RunRequest): Promise<void> {
    const key = keyOf(run.key);
    const specs = this.render(run);
    const existing = await this.#inspectByKey(run.key, false);
    const plan = planSubmit(run, specs, existing);
    if (plan.notOwned) throw notOwned(plan.notOwned, run.ownerId);
    const memo: RunMemo = {
      runId: run.runId,
      generation: run.generation,
      specHash: run.specHash,
      runSpecHash: run.runSpecHash,
      ownerId: run.ownerId,
      replicas: run.spec.replicas,
    };
    this.#memos.set(key, memo);
    await this.#apply(plan, run, memo);
  }

  async #apply(plan: SubmitPlan, run: RunRequest, memo: RunMemo): Promise<void> {
    const key = keyOf(run.key);
    await this.#each(plan.remove, (c) => this.#remove(c.Id, c.Name));
    await this.#each(plan.restore, (c) => this.#setRestartPolicy(c, plan.policy));
    await this.#each(plan.update, (u) =>
      this.#conn.call("/containers/:id/update", `updating the limits of container ${u.name}`, (d) =>
        d.getContainer(u.id).update({ NanoCpus: u.nanoCpus, Memory: u.memory, MemorySwap: u.memory }),
      ),
    );
    await this.#each(plan.start, (c) => this.#start(c.Id, c.Name.replace(/^\//, "")));
    try {
      await this.#each(plan.create, (spec) => this.#createAndStart(spec, run));
    } catch (error) {
      if (isReason(error, "ImageNotFound")) {
        this.#memos.set(key, { ...memo, failure: { reason: "ImageNotFound", message: messageOf(error) } });
        return;
      }
      if (isReason(error, "DockerRejected")) {
        const said = messageOf(error);
        const outcome = /range of cpus|cpus? available|insufficient/i.test(said)
          ? { blocked: { reason: "Unschedulable", message: said } }
          : { failure: { reason: "CreateContainerError", message: said } };
        this.#memos.set(key, { ...memo, ...outcome });
        await this.purgeRun(run.key, run.runId);
        return;
      }
      throw error;
    }
  }

  async #createAndStart(spec: ContainerSpec, run: RunRequest): Promise<void> {
    const what = `creating container ${spec.name} (image ${spec.body.Image})`;
    let id: string;
    try {
      id = (
        await this.#conn.call("/containers/create", what, (d) =>
          d.createContainer({ ...spec.body, name: spec.name }),
        )
      ).id;
    } catch (error) {
      if (!isReason(error, "NameConflict")) throw error;
      // Another operator instance, a crash mid-submit, or a container made by hand holds the name.
      const holder = await this.#inspect(spec.name);
      if (!holder) throw error;
      const labels = holder.Config.Labels ?? {};
      if (labels[LABEL.ownerId] !== run.ownerId) throw notOwned(holder, run.ownerId);
      if (labels[LABEL.runId] === run.runId && labels[LABEL.runSpecHash] === run.runSpecHash) {
        if (holder.State.Status === "created" && !holder.State.Error) await this.#start(holder.Id, spec.name);
        return;
      }
      await this.#remove(holder.Id, spec.name);
      id = (
        await this.#conn.call("/containers/create", what, (d) =>
          d.createContainer({ ...spec.body, name: spec.name }),
        )
      ).id;
    }
    await this.#start(id, spec.name);
  }

  /** A failed start leaves the container `created` with State.Error: observe() reports it. */
  async #start(id: string, name: string): Promise<void> {
    try {
      await this.#conn.call("/containers/:id/start", `starting container ${name}`, (d) =>
        d.getContainer(id).start(),
      );
    } catch (error) {
      const status = statusOf(error);
      if (status === 304) return; // already running
      if (status === 400 || status === 500) {
        this.#options.log?.warn({ container: name, err: messageOf(error) }, "container did not start");
        return;
      }
      throw error;
    }
  }

  async #remove(id: string, name: string): Promise<void> {
    try {
      await this.#conn.call("/containers/:id", `removing container ${name.replace(/^\//, "")}`, (d) =>
        d.getContainer(id).remove({ force: true, v: true }),
      );
    } catch (error) {
      if (isReason(error, "NotFound")) return;
      if (statusOf(error) === 409 && /already in progress/i.test(messageOf(error))) return;
      throw error;
    }
  }

  async #setRestartPolicy(
    c: InspectedContainer,
    policy: { Name: string; MaximumRetryCount: number },
  ): Promise<void> {
    await this.#conn.call(
      "/containers/:id/update",
      `setting the restart policy of container ${c.Name.replace(/^\//, "")}`,
      (d) => d.getContainer(c.Id).update({ RestartPolicy: policy }),
    );
  }

  async stop(key: JobKey, reason: string): Promise<void> {
    const containers = await this.#inspectByKey(key, true);
    const memo = this.#memos.get(keyOf(key));
    if (memo) this.#memos.set(keyOf(key), { ...memo, stopReason: stopReasonOf(reason) });
    await this.#each(containers, async (c) => {
      const status = c.State.Status;
      const active = status === "running" || status === "restarting" || status === "paused";
      const pending = status === "created" && !c.State.Error;
      if (!active && !pending && !isStoppedByHand(c)) return; // finished: keep its exit as it is
      if (active) {
        const t = this.#options.stopTimeoutSeconds ?? 10;
        try {
          await this.#conn.call(
            "/containers/:id/stop",
            `stopping container ${c.Name.replace(/^\//, "")}`,
            (d) => d.getContainer(c.Id).stop({ t }),
          );
        } catch (error) {
          const code = statusOf(error);
          if (code !== 304 && !isReason(error, "NotFound")) throw error;
        }
      }
      if (!isStopMarked(c)) await this.#setRestartPolicy(c, STOPPED_MARKER_POLICY);
    });
  }

  async purge(key: JobKey): Promise<void> {
    await this.purgeRun(key, undefined);
    this.#memos.delete(keyOf(key));
  }

  /** Removes this owner's containers of a resource (of one run only, when runId is given). */
  async purgeRun(key: JobKey, runId: string | undefined): Promise<void> {
    const labels = [labelFilter(LABEL.key, keyOf(key)), labelFilter(LABEL.ownerId, this.#options.ownerId)];
    if (runId) labels.push(labelFilter(LABEL.runId, runId));
    const list = await this.#list(labels, `listing containers of ${keyOf(key)}`);
    await this.#each(list, (c) => this.#remove(c.Id, c.Names?.[0] ?? c.Id));
  }

  async listOwned(ownerId: string): Promise<OwnedRun[]> {
    const list = await this.#list(
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
    const containers = (await this.#inspectByKey(key, true)).sort((a, b) => replicaOf(a) - replicaOf(b));
    const run = observedFrom(containers, this.#options.ownerId, undefined)?.runId;
    const targets = containers
      .filter((c) => c.Config.Labels?.[LABEL.runId] === run)
      .filter((c) => options.replica === undefined || replicaOf(c) === options.replica)
      .map((c) => ({ id: c.Id, name: c.Name.replace(/^\//, ""), replica: replicaOf(c) }));
    if (targets.length === 0) {
      const which = options.replica === undefined ? "" : ` replica ${options.replica}`;
      throw new OperatorError(
        "NotFound",
        `no container of ${keyOf(key)}${which} on Docker engine ${this.target}`,
      );
    }
    yield* logLines(this.#conn, targets, options);
  }

  changes(): Observable<ResourceKey> {
    this.#changes ??= (
      this.#options.events ??
      dockerEvents(this.#conn, {
        filters: {
          type: ["container"],
          label: [labelFilter(LABEL.ownerId, this.#options.ownerId)],
          event: [...WATCHED_ACTIONS],
        },
        watch: "docker-trainingjobs",
        ...(this.#options.log ? { log: this.#options.log } : {}),
      })
    ).pipe(
      mergeMap((message): Observable<ResourceKey | undefined> => {
        if (message.type === "resync") return from(this.#ownedKeys()).pipe(mergeMap((keys) => from(keys)));
        const { event } = message;
        if (!(WATCHED_ACTIONS as readonly string[]).includes(event.Action)) return of(undefined);
        if (event.Actor.Attributes[LABEL.ownerId] !== this.#options.ownerId) return of(undefined);
        return of(keyFromLabels(event.Actor.Attributes));
      }),
      filter((key): key is ResourceKey => key?.startsWith("TrainingJob/") === true),
      share(),
    );
    return this.#changes;
  }

  async close(): Promise<void> {
    this.#memos.clear();
  }

  async #ownedKeys(): Promise<(ResourceKey | undefined)[]> {
    try {
      return (await this.listOwned(this.#options.ownerId)).map((o) => o.key);
    } catch (error) {
      this.#options.log?.warn({ err: messageOf(error) }, "re-list after the event stream reconnected failed");
      return [];
    }
  }

  async #list(labels: string[], what: string) {
    return this.#conn.call("/containers/json", `${what} on ${this.target}`, (d) =>
      d.listContainers({
        all: true,
        filters: { label: [labelFilter(LABEL.managedBy, MANAGED_BY), ...labels] },
      }),
    );
  }

  async #inspect(idOrName: string): Promise<InspectedContainer | undefined> {
    try {
      return (await this.#conn.call("/containers/:id/json", `inspecting container ${idOrName}`, (d) =>
        d.getContainer(idOrName).inspect(),
      )) as ContainerInspectInfo as unknown as InspectedContainer;
    } catch (error) {
      if (isReason(error, "NotFound")) return undefined;
      throw error;
    }
  }

  async #inspectByKey(key: JobKey, ownOnly: boolean): Promise<InspectedContainer[]> {
    const labels = [labelFilter(LABEL.key, keyOf(key))];
    if (ownOnly) labels.push(labelFilter(LABEL.ownerId, this.#options.ownerId));
    const list = await this.#list(labels, `listing containers of ${keyOf(key)}`);
    const inspected = await Promise.all(list.map((c) => this.#inspect(c.Id)));
    return inspected.filter((c): c is InspectedContainer => c !== undefined);
  }

  async #each<T>(items: readonly T[], fn: (item: T) => Promise<unknown>): Promise<void> {
    const limit = Math.max(1, this.#options.concurrency ?? 8);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length) {
        const item = items[next++] as T;
        await fn(item);
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  }
}

const keyOf = (key: JobKey): ResourceKey => makeKey("TrainingJob", key.namespace, key.name);
const replicaOf = (c: InspectedContainer): number =>
  Number.parseInt(c.Config.Labels?.[LABEL.replica] ?? "-1", 10);
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** stop()'s `why` (suspend, failed, replaced) or a reason; the replicas' reason while stopped. */
function stopReasonOf(reason: string): string {
  const known: Record<string, string> = { suspend: "Suspended", failed: "Stopped", replaced: "Replaced" };
  return known[reason] ?? (/^[A-Z][A-Za-z]+$/.test(reason) ? reason : "Stopped");
}

function notOwned(c: InspectedContainer, ownerId: string): OperatorError {
  const owner = c.Config.Labels?.[LABEL.ownerId];
  const whose = owner ? `owner id ${owner}` : "no mlops owner label (made outside the operator)";
  return new OperatorError(
    "NotOwned",
    `container ${c.Name.replace(/^\//, "")} belongs to ${whose}, not to this operator (${ownerId}); it is left as it is`,
  );
}

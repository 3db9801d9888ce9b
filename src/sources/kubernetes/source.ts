// The Kubernetes source: TrainingJob and MlopsStack custom resources (mlops.dev/v1alpha1) read with
// one list+watch per kind (WatchLoop), validated like files, as the Source port. Deletions are the
// API server's word (no second read needed), but a failed or partial list never prunes. With the
// finalizer (default), an object being deleted stays until the operator has finalized it: lookup says
// "deleted" once deletionTimestamp is set, and forget() removes the finalizer. Status goes to the
// /status subresource as a merge patch, only when it changed (timestamps aside).
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { concat, defer, from, type Observable, Subject } from "rxjs";
import { sameIgnoringTimes } from "../../api/conditions.ts";
import { messageOf, OperatorError } from "../../api/errors.ts";
import { KINDS } from "../../api/kinds.ts";
import {
  type AnyResource,
  GROUP,
  type Kind,
  keyOf,
  makeKey,
  parseKey,
  type ResourceKey,
  type StatusOf,
  VERSION,
} from "../../api/resources.ts";
import type { Lookup, Source } from "../../controller/source.ts";
import { sourceInvalidDocuments } from "../../observability/metrics.ts";
import { codeOf, type KubeApi, PLURALS, type RawObject } from "./api.ts";
import type { ObjectReference } from "./event-correlator.ts";
import { FinalizerQueue } from "./finalizers.ts";
import { mergePatchFor } from "./merge-patch.ts";
import { FINALIZER, type Observed } from "./objects.ts";
import { KubeTable } from "./table.ts";
import { WatchLoop } from "./watcher.ts";

/** Finalizer patches in flight at once (a first list of 10,000 objects must not open 10,000 requests). */
const FINALIZER_CONCURRENCY = 8;

export interface KubernetesSourceSettings {
  readonly api: KubeApi;
  /** Watch one namespace; all namespaces when absent. */
  readonly namespace?: string;
  /** Keep objects until finalized with the mlops.dev/cleanup finalizer (default true). */
  readonly finalizer?: boolean;
  /** A watch silent this long is restarted (default 90 s). */
  readonly stallMs?: number;
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  /** Server-side watch timeout (default 300–600 s, jittered). */
  readonly watchTimeoutSeconds?: number;
  /** Items per list page (default 500). */
  readonly pageSize?: number;
  /** start() rejects when no complete list of both kinds came in this time (default 30 s). */
  readonly startTimeoutMs?: number;
  readonly log?: Logger;
}

export class KubernetesSource implements Source {
  readonly description: string;
  #defaultOwnerId: string;
  readonly namespace: string | undefined;
  readonly loops: Readonly<Record<Kind, WatchLoop>>;
  readonly #api: KubeApi;
  readonly #settings: KubernetesSourceSettings;
  readonly #table: KubeTable;
  readonly #finalizers: FinalizerQueue;
  readonly #changes = new Subject<ResourceKey>();
  #closed = false;
  /** A follower (leader election) adds no finalizers until it leads. */
  #finalizing = true;

  constructor(settings: KubernetesSourceSettings) {
    this.#settings = settings;
    this.#api = settings.api;
    this.namespace = settings.namespace;
    const scope = settings.namespace ? ` namespace ${settings.namespace}` : "";
    this.description = `kubernetes ${settings.api.server}${scope}`;
    this.#defaultOwnerId = ownerIdFor(settings.api.server, settings.namespace);
    this.#finalizers = new FinalizerQueue(
      (key, uid) => this.#addFinalizer(key, uid),
      FINALIZER_CONCURRENCY,
      settings.log,
    );
    this.#table = new KubeTable((key) => {
      sourceInvalidDocuments.set(this.#table.invalidCount());
      if (!this.#closed) this.#changes.next(key);
    });
    const loops = {} as Record<Kind, WatchLoop>;
    for (const kind of KINDS) loops[kind] = this.#loop(kind);
    this.loops = loops;
  }

  async start(): Promise<void> {
    for (const kind of KINDS) this.loops[kind].start();
    const timeoutMs = this.#settings.startTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const waiting = KINDS.filter((k) => this.loops[k].stats.lists === 0);
        const last = waiting.map((k) => this.loops[k].lastError).find((e) => e !== undefined);
        const detail =
          last instanceof Error ? `: ${last.message.replace(`kubernetes ${this.#api.server}: `, "")}` : "";
        const what = waiting.map((k) => `${PLURALS[k]}.mlops.dev`).join(" and ");
        reject(
          new OperatorError(
            "KubernetesUnavailable",
            `${this.description}: no complete list of ${what} within ${timeoutMs} ms${detail}`,
          ),
        );
      }, timeoutMs);
    });
    try {
      await Promise.race([Promise.all(KINDS.map((k) => this.loops[k].listed)), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  changes(): Observable<ResourceKey> {
    return concat(
      defer(() => from(this.#table.keys())),
      this.#changes,
    );
  }

  lookup(key: ResourceKey): Lookup {
    return this.#table.lookup(key);
  }

  get(key: ResourceKey): AnyResource | undefined {
    const found = this.lookup(key);
    return found.state === "present" ? found.resource : undefined;
  }

  list(kind: Kind, namespace?: string): AnyResource[] {
    return this.#table.list(kind, namespace);
  }

  /**
   * The object as an event's involvedObject (apiVersion, kind, namespace, name, uid, resourceVersion),
   * from the cache; undefined when the source holds no such object.
   */
  reference(key: ResourceKey): ObjectReference | undefined {
    const observed = this.#table.observed(key);
    if (!observed?.uid) return undefined;
    const { kind, namespace, name } = parseKey(key);
    return {
      apiVersion: `${GROUP}/${VERSION}`,
      kind,
      namespace,
      name,
      uid: observed.uid,
      ...(observed.resourceVersion ? { resourceVersion: observed.resourceVersion } : {}),
    };
  }

  /** True once both kinds have had a complete list. */
  settled(): boolean {
    return KINDS.every((k) => this.loops[k].stats.lists > 0);
  }

  revision(): string | undefined {
    return undefined;
  }

  /** Merge-patches /status when it differs from the object's, timestamps aside; one retry on 409. */
  async write<R extends AnyResource>(resource: R, status: StatusOf<R>): Promise<void> {
    const key = keyOf(resource);
    for (let attempt = 0; ; attempt++) {
      let observed = this.#table.observed(key);
      if (observed?.uid && attempt === 0) {
        await this.#finalizers.settle(observed.uid); // its patch first: no 409 between the two
        observed = this.#table.observed(key);
      }
      if (!observed) return;
      const current = observed.status;
      if (current !== undefined && sameIgnoringTimes(current, status)) return;
      const body = {
        metadata: { resourceVersion: observed.resourceVersion },
        status: current === undefined ? status : mergePatchFor(current, status),
      };
      const { kind, namespace, name } = parseKey(key);
      try {
        this.#table.applyNewer(kind, await this.#api.patchStatus(kind, namespace, name, body));
        return;
      } catch (error) {
        if (codeOf(error) === 404) return; // gone: nothing to report on
        if (codeOf(error) !== 409 || attempt > 0) throw error;
        await this.#refresh(key);
      }
    }
  }

  /** After finalize: removes the finalizer (the API server then deletes the object) and the record. */
  async forget(key: ResourceKey): Promise<void> {
    const found = this.#table.lookup(key);
    if (found.state !== "deleted") return;
    const observed = this.#table.observed(key);
    if (observed?.finalizers.includes(FINALIZER)) {
      await this.#patchFinalizers(key, (list) => list.filter((f) => f !== FINALIZER));
    }
    this.#table.forget(key);
    sourceInvalidDocuments.set(this.#table.invalidCount());
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(KINDS.map((k) => this.loops[k].stop()));
    await this.#finalizers.close();
    this.#changes.complete();
  }

  #loop(kind: Kind): WatchLoop {
    const s = this.#settings;
    const plural = PLURALS[kind];
    return new WatchLoop({
      name: `kubernetes/${plural}`,
      list: () => this.#listAll(kind),
      watch: (resourceVersion, onEvent, done) =>
        this.#api.watch(
          kind,
          s.namespace,
          { resourceVersion, timeoutSeconds: s.watchTimeoutSeconds ?? Math.round(300 * (1 + Math.random())) },
          onEvent,
          done,
        ),
      onList: (items) => {
        this.#table.replaceKind(kind, items);
        for (const item of items) this.#ensureFinalizer(kind, item);
      },
      onEvent: (type, object) => {
        if (type === "DELETED") this.#table.deleted(kind, object);
        else this.#ensureFinalizer(kind, object, this.#table.applyNewer(kind, object));
      },
      ...(s.stallMs === undefined ? {} : { stallMs: s.stallMs }),
      ...(s.backoffInitialMs === undefined ? {} : { backoffInitialMs: s.backoffInitialMs }),
      ...(s.backoffMaxMs === undefined ? {} : { backoffMaxMs: s.backoffMaxMs }),
      ...(s.log ? { log: s.log } : {}),
    });
  }

  /** Every page; any failure fails the whole list (nothing is applied from a partial one). */
  async #listAll(kind: Kind): Promise<{ items: RawObject[]; resourceVersion: string }> {
    const items: RawObject[] = [];
    let page = await this.#api.list(kind, this.namespace, { limit: this.#settings.pageSize ?? 500 });
    items.push(...page.items);
    for (let pages = 1; page.continue; pages++) {
      if (pages > 10_000)
        throw new OperatorError("KubernetesUnavailable", `${this.description}: list never ends`);
      page = await this.#api.list(kind, this.namespace, {
        limit: this.#settings.pageSize ?? 500,
        continue: page.continue,
      });
      items.push(...page.items);
    }
    return { items, resourceVersion: page.resourceVersion };
  }

  /**
   * Whether the source adds its finalizer (default on). A follower turns it off, writing nothing;
   * turned on, every live object that lacks the finalizer gets it.
   */
  setFinalizing(on: boolean): void {
    this.#finalizing = on;
    if (!on || this.#settings.finalizer === false) return;
    for (const key of this.#table.keys()) {
      const observed = this.#table.observed(key);
      if (!observed?.uid || observed.deleting || observed.finalizers.includes(FINALIZER)) continue;
      this.#finalizers.request(observed.key, observed.uid);
    }
  }

  /** Asks for the finalizer on a live object that lacks it (added in the background). */
  #ensureFinalizer(kind: Kind, raw: RawObject, applied?: Observed): void {
    if (this.#settings.finalizer === false || !this.#finalizing || this.#closed) return;
    const observed =
      applied ?? this.#table.observed(makeKey(kind, raw.metadata?.namespace, raw.metadata?.name));
    if (!observed?.uid || observed.uid !== raw.metadata.uid) return;
    if (observed.deleting || observed.finalizers.includes(FINALIZER)) return;
    this.#finalizers.request(observed.key, observed.uid);
  }

  /** Adds the finalizer unless the object changed meanwhile (re-created, being deleted). */
  async #addFinalizer(key: ResourceKey, uid: string): Promise<void> {
    const current = this.#table.observed(key);
    if (!current || current.deleting || current.uid !== uid) return;
    await this.#patchFinalizers(key, (list) => (list.includes(FINALIZER) ? [...list] : [...list, FINALIZER]));
  }

  /** A merge patch of metadata.finalizers guarded by resourceVersion; on 409, re-read and retry once. */
  async #patchFinalizers(key: ResourceKey, change: (list: readonly string[]) => string[]): Promise<void> {
    const { kind, namespace, name } = parseKey(key);
    for (let attempt = 0; ; attempt++) {
      const observed = this.#table.observed(key);
      if (!observed) return;
      const before = observed.finalizers;
      const after = change(before);
      if (after.length === before.length && after.every((f, i) => f === before[i])) return;
      const body = { metadata: { finalizers: after, resourceVersion: observed.resourceVersion } };
      try {
        this.#table.applyNewer(kind, await this.#api.patch(kind, namespace, name, body));
        return;
      } catch (error) {
        if (codeOf(error) === 404) return;
        if (codeOf(error) !== 409 || attempt > 0) throw error;
        await this.#refresh(key);
      }
    }
  }

  /**
   * The server-URL id earlier versions took as the default, once `identify` has replaced it with the
   * cluster's own id; empty before (or when kube-system's UID could not be read).
   */
  get previousDefaultOwnerIds(): readonly string[] {
    const previous = ownerIdFor(this.#api.server, this.namespace);
    return previous === this.#defaultOwnerId ? [] : [previous];
  }

  /** Until `identify` resolves: the server-URL id; after it, the cluster's (kube-system's UID). */
  get defaultOwnerId(): string {
    return this.#defaultOwnerId;
  }

  /**
   * The default owner id from the cluster itself, the kube-system namespace's UID (plus the namespace
   * when scoped), so that the cluster reached in cluster and from outside gets one id. When the UID
   * cannot be read, the server-URL id stays and a warning says why.
   */
  async identify(): Promise<string> {
    try {
      const uid = await this.#api.namespaceUid?.("kube-system");
      if (uid !== undefined) this.#defaultOwnerId = ownerIdFor(`kube-system-uid:${uid}`, this.namespace);
    } catch (error) {
      this.#settings.log?.warn(
        { err: messageOf(error), ownerId: this.#defaultOwnerId },
        "cannot read namespace kube-system's UID: the owner id comes from the server URL (pass --owner-id to pin one)",
      );
    }
    return this.#defaultOwnerId;
  }

  /** Re-reads one object (after a 409); a 404 marks it gone. */
  async #refresh(key: ResourceKey): Promise<void> {
    const { kind, namespace, name } = parseKey(key);
    try {
      this.#table.applyNewer(kind, await this.#api.get(kind, namespace, name));
    } catch (error) {
      if (codeOf(error) !== 404) throw error;
      this.#table.markGone(key);
    }
  }
}

/** An owner id: a hash of the cluster's identity (kube-system's UID or the server URL) and the namespace, when scoped. */
export function ownerIdFor(server: string, namespace?: string): string {
  return createHash("sha256")
    .update(namespace ? `${server}#${namespace}` : server)
    .digest("hex")
    .slice(0, 16);
}

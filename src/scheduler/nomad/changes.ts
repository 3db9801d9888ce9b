// The keys of TrainingJobs whose Nomad jobs changed outside the operator, from ONE event stream for all
// namespaces, and what that stream cannot see by itself:
// - `namespace=*` is expanded by Nomad when the stream opens, to the namespaces that exist then
//   (nomad/event_endpoint.go validateACL; nomad/stream/subscription.go filter): a namespace created
//   later gets no events. The namespace list is watched (a blocking query on /v1/namespaces, at most
//   one list per second) and the stream re-opened, with a re-list, when the set of names changes or a
//   job is registered in a namespace the stream does not cover.
// - A TrainingJob whose namespace does not exist yet is woken when the namespace appears.
// - After a reconnect or an index reset the server's small buffer may have lost events: the re-list
//   reports every owned job listed, and every job known here that the list no longer has (deleted or
//   purged while the stream was down, or gone with a reset server).

import type { Logger } from "pino";
import { Observable, Subject, type Subscriber, type Subscription, share } from "rxjs";
import { backoffDelay, pause } from "../../api/backoff.ts";
import type { ResourceKey } from "../../api/resources.ts";
import type { NomadClient } from "../../clients/nomad/client.ts";
import { type EventStreamOptions, nomadEventStream, type StreamSignal } from "../../clients/nomad/events.ts";
import type { NomadAllocation, NomadEvaluation, NomadEvent, NomadJob } from "../../clients/nomad/types.ts";
import { jobWhere, META, metaKey } from "./meta.ts";
import { allocationEnded, OwnWrites } from "./own-writes.ts";

export interface Listed {
  /** namespace/jobId → key of every owned TrainingJob job listed. */
  readonly owned: ReadonlyMap<string, ResourceKey>;
  readonly index: number;
}

export interface ChangeFeedOptions {
  readonly client: NomadClient;
  readonly ownerId: string;
  /** Whether a job's owner id is this operator's (default: equal to `ownerId`; adoption adds more). */
  readonly owns?: (ownerId: string | undefined) => boolean;
  /** Lists the owned jobs (the scheduler's filter-with-fallback list). */
  readonly list: () => Promise<Listed>;
  readonly events?: EventStreamOptions;
  readonly log?: Logger;
  /** Least time between two namespace lists; default 1 s. */
  readonly namespaceListMs?: number;
  /** Longest wait of one blocking namespace query; default 5 min. */
  readonly namespaceWaitMs?: number;
  /** Topics of the stream (default Job:* and Allocation:*). */
  readonly topics?: readonly string[];
  /**
   * False: no event stream, the first list alone (`run --once`: one pass reads the state it starts
   * from, as a single `kubectl get`, and what changes during it is the next pass's). Default true.
   */
  readonly follow?: boolean;
  /** An Evaluation event of an owned job (namespace/jobId): true when it should wake the resource. */
  readonly onEvaluation?: (where: string, evaluation: NomadEvaluation) => boolean;
  /** Every batch of events, after the owned jobs are learned from it and before its keys are reported. */
  readonly onEvents?: (events: readonly NomadEvent[]) => void;
  /** The stream failed, stalled or had a gap: events may be missed until the re-list that follows. */
  readonly onGap?: () => void;
  /** A list of the owned jobs succeeded at `index`. */
  readonly onListed?: (index: number) => void;
  /** The feed starts: its first list follows (after the namespaces' list), then onListed or a failed list. */
  readonly onStart?: () => void;
}

interface Namespace {
  Name: string;
}

export class ChangeFeed {
  /** namespace/jobId → key of the owned jobs known here (small: keys only). */
  readonly owned = new Map<string, ResourceKey>();
  readonly #options: ChangeFeedOptions;
  /** namespace → keys whose job could not be registered because the namespace did not exist. */
  readonly #waiting = new Map<string, Set<ResourceKey>>();
  /** The namespaces the open stream was subscribed with; undefined before the first list. */
  #covered: ReadonlySet<string> | undefined;
  #reopen: (() => void) | undefined;
  /** Aborted to cut the namespace watcher's blocking query short. */
  #wakeup = new AbortController();
  /**
   * For each list under way, the jobs learned of outside it since it began (registered, or seen in
   * an event), so that list never drops them. Kept only while a list runs: a stamp per owned job,
   * kept for good, was a table and a key of ~80 bytes a job.
   */
  readonly #learning = new Set<Set<string>>();
  /** This operator's registers, whose own events do not wake their resources again (own-writes.ts). */
  readonly #own = new OwnWrites();
  /** Reports a key to the open stream's subscriber (a held event that turned out to be news). */
  #emit: ((key: ResourceKey) => void) | undefined;
  /** Keys whose run had an allocation end (complete, failed, lost), also reported on the feed. */
  readonly #ended = new Subject<ResourceKey>();
  #shared: Observable<ResourceKey> | undefined;

  constructor(options: ChangeFeedOptions) {
    this.#options = options;
  }

  /**
   * This operator starts registering a job: its events are held until the register ends. Returns the
   * job's namespace/jobId, for `registered` or `registerFailed`: the one string the feed and its own
   * writes keep for the job (a string made at each call was one more copy in each map, 32 bytes a job).
   */
  registering(namespace: string, id: string): string {
    const where = jobWhere(namespace, id);
    this.#own.begin(where);
    return where;
  }

  /**
   * A job of this operator (`where`, from `registering`) was registered at `jobModifyIndex`: known from
   * now on, and its own events at that index wake nothing; a namespace not covered re-opens.
   */
  registered(where: string, namespace: string, key: ResourceKey, jobModifyIndex?: number): void {
    this.#learn(where, key);
    this.#report(this.#own.end(where, jobModifyIndex));
    if (this.#wildcard && this.#covered && !this.#covered.has(namespace)) this.#reopen?.();
  }

  /** A register started with `registering` (`where`) failed: events held meanwhile are reported. */
  registerFailed(where: string): void {
    this.#report(this.#own.end(where, undefined));
  }

  /** Events held during a register that were news: the key, and as an ending if one had ended. */
  #report(news: { readonly key: ResourceKey; readonly ended: boolean } | undefined): void {
    if (!news) return;
    this.#emit?.(news.key);
    if (news.ended) this.#ended.next(news.key);
  }

  forget(namespace: string, id: string): void {
    const where = jobWhere(namespace, id);
    this.owned.delete(where);
    this.#own.forget(where);
  }

  #learn(where: string, key: ResourceKey): void {
    this.owned.set(where, key);
    for (const learned of this.#learning) learned.add(where);
  }

  /** `key` needs `namespace`, which Nomad does not have: it is reported when the namespace appears. */
  waitForNamespace(namespace: string, key: ResourceKey): void {
    const keys = this.#waiting.get(namespace) ?? new Set<ResourceKey>();
    keys.add(key);
    this.#waiting.set(namespace, keys);
  }

  /**
   * The keys of the feed whose run had an allocation end (client status complete, failed or lost):
   * their reconcile records an outcome or frees queue quota. Only while the feed is subscribed.
   */
  endings(): Observable<ResourceKey> {
    return this.#ended.asObservable();
  }

  /** The keys to reconcile, from one event stream shared by every subscriber (opened by the first). */
  observable(): Observable<ResourceKey> {
    this.#shared ??= this.#open().pipe(share());
    return this.#shared;
  }

  #open(): Observable<ResourceKey> {
    return new Observable<ResourceKey>((subscriber) => {
      const stop = new AbortController();
      let stream: Subscription | undefined;
      let lastIndex = 0;
      const log = this.#options.log;

      /**
       * Lists the owned jobs; reports those listed (all, or in `namespaces` only) unless `quiet`, and
       * every job known here that the list no longer has. Returns the list's index.
       */
      const relist = async (report: { quiet?: boolean; namespaces?: ReadonlySet<string> } = {}) => {
        const learned = new Set<string>();
        this.#learning.add(learned);
        try {
          const listed = await this.#options.list();
          for (const [where, key] of listed.owned) {
            this.owned.set(where, key);
            if (report.quiet) continue;
            if (!report.namespaces || report.namespaces.has(where.slice(0, where.indexOf("/"))))
              subscriber.next(key);
          }
          for (const [where, key] of [...this.owned]) {
            // Registered or seen in an event while the list was under way: newer than the list.
            if (listed.owned.has(where) || learned.has(where)) continue;
            this.forget(...splitWhere(where));
            subscriber.next(key); // its job went while the stream was away
          }
          this.#options.onListed?.(listed.index);
          return listed.index;
        } catch (error) {
          log?.warn({ err: error }, "re-listing owned Nomad jobs failed");
          return undefined;
        } finally {
          this.#learning.delete(learned);
        }
      };
      const follow = (fromIndex: number) => {
        stream?.unsubscribe();
        if (stop.signal.aborted || this.#options.follow === false) return;
        stream = nomadEventStream(this.#options.client, {
          ...(this.#options.topics ? { topics: this.#options.topics } : {}),
          ...this.#options.events,
          ...(fromIndex > 0 ? { fromIndex } : {}),
          onError: (error) => {
            log?.warn({ err: error }, "Nomad event stream failed; reconnecting");
            this.#options.events?.onError?.(error);
          },
        }).subscribe({
          next: (signal) => {
            if (signal.type === "interrupted") {
              this.#options.onGap?.();
              return;
            }
            if (signal.type === "resync") {
              if (signal.reset) lastIndex = 0;
              this.#options.onGap?.();
              // The namespace watcher asks afresh too (a reset server's index is below the one it waits on).
              this.#wakeup.abort();
              void relist();
              return;
            }
            lastIndex = signal.index;
            const ended = new Set<ResourceKey>();
            const keys = this.#keysOf(signal, ended);
            this.#options.onEvents?.(signal.events);
            for (const key of keys) subscriber.next(key);
            for (const key of ended) this.#ended.next(key);
          },
          error: (error: unknown) => subscriber.error(error),
        });
      };
      this.#reopen = () => {
        this.#covered = undefined; // the watcher re-reads the names and re-opens the stream
        this.#wakeup.abort();
      };
      this.#emit = (key) => subscriber.next(key);

      const start = async () => {
        this.#options.onStart?.();
        const listedAt = performance.now();
        const first = await this.#namespaces(stop.signal).catch(() => ({ names: [] as string[], index: 0 }));
        this.#covered = new Set(first.names);
        const index = await relist({ quiet: true });
        lastIndex = index ?? 0;
        follow(lastIndex);
        await this.#watchNamespaces(
          subscriber,
          stop.signal,
          { index: first.index, at: listedAt },
          (names) => {
            const before = this.#covered;
            this.#covered = new Set(names);
            this.#wake(subscriber, names);
            if (!this.#wildcard || (before && sameSet(before, this.#covered))) return;
            log?.info({ namespaces: names }, "Nomad namespaces changed; re-subscribing to the event stream");
            follow(lastIndex);
            // Events of a namespace the old stream did not cover were dropped by the server.
            const added = before ? new Set(names.filter((n) => !before.has(n))) : undefined;
            void relist(added ? { namespaces: added } : {});
          },
        );
      };
      start().catch((error: unknown) => {
        if (!stop.signal.aborted) log?.warn({ err: error }, "following Nomad changes failed");
      });
      return () => {
        stop.abort();
        stream?.unsubscribe();
        this.#reopen = undefined;
        this.#emit = undefined;
      };
    });
  }

  get #wildcard(): boolean {
    return (this.#options.events?.namespace ?? "*") === "*";
  }

  async #namespaces(signal: AbortSignal): Promise<{ names: string[]; index: number }> {
    const { body, meta } = await this.#options.client.query<Namespace[] | null>(
      "/v1/namespaces",
      "/v1/namespaces",
      { signal },
    );
    return { names: (body ?? []).map((n) => n.Name).sort(), index: meta.index };
  }

  /** Blocking queries on /v1/namespaces, at most one per `namespaceListMs`; `changed` on every answer. */
  async #watchNamespaces(
    subscriber: Subscriber<ResourceKey>,
    stop: AbortSignal,
    first: { index: number; at: number },
    changed: (names: string[]) => void,
  ): Promise<void> {
    const minMs = this.#options.namespaceListMs ?? 1_000;
    const waitMs = this.#options.namespaceWaitMs ?? 300_000;
    let index = first.index;
    let failures = 0;
    let started = first.at;
    while (!stop.aborted && !subscriber.closed) {
      const wait =
        backoffDelay(failures, { initialMs: minMs, maxMs: minMs * 32 }) - (performance.now() - started);
      if (wait > 0) await pause(wait, stop);
      if (stop.aborted) return;
      started = performance.now();
      if (this.#wakeup.signal.aborted) {
        this.#wakeup = new AbortController();
        index = 0; // woken: answer now, not at the next change
      }
      const wake = this.#wakeup.signal;
      try {
        const { body, meta } = await this.#options.client.query<Namespace[] | null>(
          "/v1/namespaces",
          "/v1/namespaces",
          { ...(index > 0 ? { index, waitMs } : {}), signal: AbortSignal.any([stop, wake]) },
        );
        failures = 0;
        // An index that went back (a reset server) starts the blocking query over.
        index = meta.index < index ? 0 : meta.index;
        changed((body ?? []).map((n) => n.Name).sort());
      } catch (error) {
        if (stop.aborted) return;
        if (!wake.aborted) {
          failures++;
          this.#options.log?.debug({ err: error }, "listing Nomad namespaces failed");
        }
      }
    }
  }

  #wake(subscriber: Subscriber<ResourceKey>, names: readonly string[]): void {
    for (const name of names) {
      const keys = this.#waiting.get(name);
      if (!keys) continue;
      this.#waiting.delete(name);
      for (const key of keys) subscriber.next(key);
    }
  }

  /** The keys the events wake; those whose run had an allocation end are added to `ended` too. */
  #keysOf(signal: Extract<StreamSignal, { type: "events" }>, ended: Set<ResourceKey>): ResourceKey[] {
    const keys = new Set<ResourceKey>();
    for (const event of signal.events) {
      if (event.Topic === "Job") {
        const job = event.Payload.Job as NomadJob | undefined;
        const meta = job?.Meta ?? {};
        const key = metaKey(meta);
        const owns = this.#options.owns ?? ((id) => id === this.#options.ownerId);
        if (!job || !owns(meta[META.ownerId]) || !key?.startsWith("TrainingJob/")) continue;
        const where = jobWhere(job.Namespace, job.ID);
        if (event.Type === "JobDeregistered" && job.Stop !== true) {
          this.forget(job.Namespace, job.ID);
          keys.add(key as ResourceKey);
          continue;
        }
        this.#learn(where, key as ResourceKey);
        if (this.#own.jobWakes(where, key as ResourceKey, event.Type, job)) keys.add(key as ResourceKey);
      } else if (event.Topic === "Allocation") {
        const alloc = event.Payload.Allocation as NomadAllocation | undefined;
        const jobId = alloc?.JobID ?? event.FilterKeys?.[0];
        const where = `${alloc?.Namespace ?? event.Namespace}/${jobId}`;
        const key = jobId ? this.owned.get(where) : undefined;
        if (key && (!alloc || this.#own.allocWakes(where, key, alloc))) {
          keys.add(key);
          if (alloc && allocationEnded(alloc)) ended.add(key);
        }
      } else if (event.Topic === "Evaluation") {
        const evaluation = event.Payload.Evaluation as NomadEvaluation | undefined;
        const where = evaluation ? jobWhere(evaluation.Namespace, evaluation.JobID) : "";
        const key = this.owned.get(where);
        if (evaluation && key && this.#options.onEvaluation?.(where, evaluation)) keys.add(key);
      }
    }
    return [...keys];
  }
}

function splitWhere(where: string): [string, string] {
  const slash = where.indexOf("/");
  return [where.slice(0, slash), where.slice(slash + 1)];
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

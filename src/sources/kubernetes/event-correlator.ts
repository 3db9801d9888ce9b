// What client-go's legacy event recorder does before it writes a core/v1 Event
// (k8s.io/client-go/tools/record/events_cache.go, EventCorrelator), minus the aggregator that folds
// events differing only in message into "(combined from similar events)":
// - dedup (eventLogger): an event equal to one seen before in source, involvedObject (kind,
//   namespace, name, uid, apiVersion), type, reason and message becomes a patch of that Event's
//   count and lastTimestamp instead of a new Event; an LRU of 4096 keys remembers what was written;
// - spam filter (EventSourceObjectSpamFilter): a token bucket per source + object (burst 25, refill
//   one token every 300 s, client-go's defaultSpamBurst and defaultSpamQPS), in an LRU of 4096.
// As there, the count is taken before the filter: a dropped repeat still counts on the next write.

/** The part of core/v1 ObjectReference an event names its object with. */
export interface ObjectReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion?: string;
}

export interface EventInput {
  readonly involvedObject: ObjectReference;
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly message: string;
}

/** What to write: a new Event, or a patch of the one written before under `name`. */
export type Correlation =
  | { readonly op: "create"; readonly count: 1; readonly firstTimestamp: Date }
  | { readonly op: "patch"; readonly name: string; readonly count: number; readonly firstTimestamp: Date }
  | { readonly op: "skip" };

export interface CorrelatorOptions {
  /** Source component and host (both in client-go's keys). */
  readonly component: string;
  readonly host: string;
  readonly cacheSize?: number;
  readonly burst?: number;
  /** Milliseconds per token refilled. */
  readonly refillMs?: number;
  /** Milliseconds, monotonic. */
  readonly now?: () => number;
}

export const DEFAULT_EVENT_CACHE_SIZE = 4096;
export const DEFAULT_SPAM_BURST = 25;
export const DEFAULT_SPAM_REFILL_MS = 300_000;

interface Observation {
  count: number;
  firstTimestamp: Date;
  /** Unset until the first write of this event was answered. */
  name: string | undefined;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class EventCorrelator {
  readonly #options: CorrelatorOptions;
  readonly #seen: Lru<Observation>;
  readonly #buckets: Lru<Bucket>;
  readonly #burst: number;
  readonly #refillMs: number;
  readonly #now: () => number;

  constructor(options: CorrelatorOptions) {
    this.#options = options;
    const size = options.cacheSize ?? DEFAULT_EVENT_CACHE_SIZE;
    this.#seen = new Lru(size);
    this.#buckets = new Lru(size);
    this.#burst = options.burst ?? DEFAULT_SPAM_BURST;
    this.#refillMs = options.refillMs ?? DEFAULT_SPAM_REFILL_MS;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Counts the event, then asks the object's token bucket; `at` is the event's timestamp. */
  correlate(event: EventInput, at: Date): Correlation {
    const key = this.#eventKey(event);
    const last = this.#seen.get(key);
    const observation: Observation = last?.name
      ? { count: last.count + 1, firstTimestamp: last.firstTimestamp, name: last.name }
      : { count: 1, firstTimestamp: at, name: undefined };
    this.#seen.set(key, observation);
    if (!this.#take(this.#spamKey(event))) return { op: "skip" };
    return observation.name
      ? {
          op: "patch",
          name: observation.name,
          count: observation.count,
          firstTimestamp: observation.firstTimestamp,
        }
      : { op: "create", count: 1, firstTimestamp: at };
  }

  /** The server's answer to a create or patch: later repeats patch this Event (updateState). */
  written(event: EventInput, name: string, count: number, firstTimestamp: Date): void {
    this.#seen.set(this.#eventKey(event), { count, firstTimestamp, name });
  }

  /** The Event is gone (expired by the server's TTL): the next repeat creates a new one. */
  forget(event: EventInput): void {
    this.#seen.delete(this.#eventKey(event));
  }

  #take(key: string): boolean {
    const now = this.#now();
    const bucket = this.#buckets.get(key) ?? { tokens: this.#burst, at: now };
    const tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) / this.#refillMs);
    const allowed = tokens >= 1;
    this.#buckets.set(key, { tokens: allowed ? tokens - 1 : tokens, at: now });
    return allowed;
  }

  #spamKey(event: EventInput): string {
    const o = event.involvedObject;
    return JSON.stringify([
      this.#options.component,
      this.#options.host,
      o.kind,
      o.namespace,
      o.name,
      o.uid,
      o.apiVersion,
    ]);
  }

  #eventKey(event: EventInput): string {
    return JSON.stringify([this.#spamKey(event), event.type, event.reason, event.message]);
  }
}

/** A least-recently-used map of at most `size` entries (a Map keeps insertion order). */
class Lru<V> {
  readonly #size: number;
  readonly #map = new Map<string, V>();

  constructor(size: number) {
    this.#size = Math.max(1, size);
  }

  get(key: string): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.#size) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.#map.delete(key);
  }
}

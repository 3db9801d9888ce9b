// Server: Nomad 1.9.6 (and 2.0.3 where noted), hashicorp/nomad. Follows: nomad/stream/event_buffer.go,
// nomad/stream/event_broker.go, nomad/stream/subscription.go.
// Nomad 1.9.6's event broker as subscribers see it (nomad/stream/event_buffer.go, event_broker.go,
// subscription.go): one item per raft index holding that index's events (`{"Index":N,"Events":[...]}`),
// a buffer of the newest `size` items (event_buffer_size, default 100: items, not events), and where a
// subscription starts:
// - no `index` (or 0): at the oldest buffered item (Subscribe takes eventBuf.Head());
// - `index=N`: at the item with index N if buffered, else the next one after N (StartAtClosest);
//   N older than the buffer starts at its oldest item; N past the newest starts AT the newest item.
// Events are filtered per subscriber by topic and by the namespaces fixed at subscribe time
// (filter in subscription.go: an event whose Namespace is set and not among them is dropped).
import type { NomadEvent } from "../../../src/clients/nomad/types.ts";

export interface Frame {
  Index: number;
  Events: NomadEvent[];
}

export type Listener = (frame: Frame) => void;

/** Each published event's JSON, written once however many streams carry it (it never changes). */
const serialized = new WeakMap<NomadEvent, string>();

export function eventJson(event: NomadEvent): string {
  let json = serialized.get(event);
  if (json === undefined) {
    json = JSON.stringify(event);
    serialized.set(event, json);
  }
  return json;
}

/**
 * Fixes an event as it is at its index: its JSON written now, from the double's live objects (a job,
 * an allocation), which later writes change; its Payload, if read, is parsed from that JSON. One
 * serialization per event instead of a deep copy (a JSON round trip) and a serialization.
 */
function fix(event: NomadEvent): void {
  const json = JSON.stringify(event);
  serialized.set(event, json);
  Object.defineProperty(event, "Payload", {
    enumerable: true,
    configurable: true,
    get: () => (JSON.parse(json) as NomadEvent).Payload,
  });
}

export class EventBuffer {
  readonly #size: number;
  readonly #frames: Frame[] = [];
  readonly #listeners = new Set<Listener>();

  constructor(size: number) {
    this.#size = Math.max(1, size);
  }

  publish(index: number, events: NomadEvent[]): void {
    if (events.length === 0) return;
    for (const event of events) fix(event);
    const frame = { Index: index, Events: events };
    this.#frames.push(frame);
    if (this.#frames.length > this.#size) this.#frames.splice(0, this.#frames.length - this.#size);
    for (const listener of this.#listeners) listener(frame);
  }

  /** The buffered items a subscription starting at `index` (0: none given) receives first. */
  startAt(index: number): Frame[] {
    if (index <= 0) return [...this.#frames];
    const at = this.#frames.findIndex((f) => f.Index >= index);
    if (at >= 0) return this.#frames.slice(at);
    const newest = this.#frames.at(-1);
    return newest ? [newest] : [];
  }

  oldestIndex(): number | undefined {
    return this.#frames[0]?.Index;
  }

  /** Drops every buffered item (a server whose state was reset starts with an empty broker). */
  clear(): void {
    this.#frames.length = 0;
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/**
 * Topic and namespace filter as Nomad applies it: topics `Job:*`, `Job:<id>`, `Allocation:*`, `*`
 * (a key matches the event's Key or one of its FilterKeys); `namespaces` is the list the request's
 * namespace was expanded to when the stream was opened (`*` → the namespaces that existed then:
 * nomad/event_endpoint.go validateACL). An event without a namespace passes.
 */
export function topicFilter(
  topics: readonly string[],
  namespaces: readonly string[],
): (event: NomadEvent) => boolean {
  const parsed = topics.map((t) => {
    const [topic = "*", key = "*"] = t.split(":");
    return { topic, key };
  });
  const allowed = new Set(namespaces);
  return (event) => {
    if (event.Namespace && !allowed.has(event.Namespace)) return false;
    return parsed.some(
      (p) =>
        (p.topic === "*" || p.topic === event.Topic) &&
        (p.key === "*" || p.key === event.Key || (event.FilterKeys ?? []).includes(p.key)),
    );
  };
}

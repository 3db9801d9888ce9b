// Nomad's event broker as clients see it: frames `{"Index":N,"Events":[...]}` per index, a small
// buffer (100 events by default) from which a reconnecting subscriber resumes, and live fan-out.
import type { NomadEvent } from "../../../src/clients/nomad/types.ts";

export interface Frame {
  Index: number;
  Events: NomadEvent[];
}

export type Listener = (frame: Frame) => void;

export class EventBuffer {
  readonly #size: number;
  readonly #frames: Frame[] = [];
  readonly #listeners = new Set<Listener>();
  #count = 0;

  constructor(size: number) {
    this.#size = size;
  }

  publish(index: number, events: NomadEvent[]): void {
    if (events.length === 0) return;
    const frame = { Index: index, Events: events };
    this.#frames.push(frame);
    this.#count += events.length;
    while (this.#count > this.#size && this.#frames.length > 1) {
      this.#count -= this.#frames.shift()?.Events.length ?? 0;
    }
    for (const listener of this.#listeners) listener(frame);
  }

  /** Buffered frames at or after `index` (what a resuming subscriber gets first). */
  since(index: number): Frame[] {
    return this.#frames.filter((f) => f.Index >= index);
  }

  oldestIndex(): number | undefined {
    return this.#frames[0]?.Index;
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** Topic filter as Nomad takes it: `Job:*`, `Job:<id>`, `Allocation:*`, `*`. */
export function topicFilter(topics: readonly string[], namespace: string): (event: NomadEvent) => boolean {
  const parsed = topics.map((t) => {
    const [topic = "*", key = "*"] = t.split(":");
    return { topic, key };
  });
  return (event) => {
    if (namespace !== "*" && event.Namespace !== namespace) return false;
    return parsed.some(
      (p) =>
        (p.topic === "*" || p.topic === event.Topic) &&
        (p.key === "*" || p.key === event.Key || (event.FilterKeys ?? []).includes(p.key)),
    );
  };
}

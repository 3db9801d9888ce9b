// One string per live resource key. Each map keyed by resource (the source's table, generations,
// the state store, the status page, the Nomad read cache and change feed, ...)
// kept the string its caller had made or parsed: seven 48-byte copies of each key at 10,000
// resources, 2.75 MB (bench/heap-owners.ts, docs/benchmarks.md round 17). A key is held here while
// a resource has a generation (sources/state/generations.ts holds each key it loads or starts and
// lets go of it when the resource is deleted), the earliest any part of the operator knows it;
// makeKey and the Nomad jobs' owner keys give the held string when there is one. Counted: two
// state stores in one process (tests) hold a key each. Nothing else is kept, so nothing outlives
// its resource here.
export class KeyTable {
  /** Each held key → itself (a map gives back its values, not its keys): no object per key. */
  readonly #held = new Map<string, string>();
  /** Holds beyond the first, for the rare key held twice (two state stores in one process). */
  readonly #more = new Map<string, number>();

  /** Holds `key` once more; returns the held string (the first holder's). */
  hold<K extends string>(key: K): K {
    const held = this.#held.get(key);
    if (held !== undefined) {
      this.#more.set(held, (this.#more.get(held) ?? 0) + 1);
      return held as K;
    }
    this.#held.set(key, key);
    return key;
  }

  /** Lets go of `key` once; the last release drops it. */
  release(key: string): void {
    const more = this.#more.get(key);
    if (more === undefined) this.#held.delete(key);
    else if (more === 1) this.#more.delete(key);
    else this.#more.set(key, more - 1);
  }

  /** The held string equal to `text`, else `text` itself. */
  canonical<K extends string>(text: K): K {
    return (this.#held.get(text) ?? text) as K;
  }

  holds(key: string): boolean {
    return this.#held.has(key);
  }

  get size(): number {
    return this.#held.size;
  }
}

/** The process's keys of live resources. */
export const liveKeys = new KeyTable();

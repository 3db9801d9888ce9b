// The values made lately, by key, so that a value made again within a short while is the one made
// before (one string where each call made a copy that a map or a record then kept): a job's
// namespace/jobId (scheduler/nomad/meta.ts), an instant's ISO string (iso-time.ts).

/** At most `size` values, the oldest dropped first (a Map keeps insertion order). */
export class Recent<K, V> {
  readonly #size: number;
  readonly #values = new Map<K, V>();

  constructor(size: number) {
    this.#size = size;
  }

  get(key: K): V | undefined {
    return this.#values.get(key);
  }

  /** Keeps `value` for `key`; returns it. */
  remember(key: K, value: V): V {
    if (this.#values.size >= this.#size) this.#values.delete(this.#values.keys().next().value as K);
    this.#values.set(key, value);
    return value;
  }
}

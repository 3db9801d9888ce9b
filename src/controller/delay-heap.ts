// Min-heap of delayed keys by due time, one entry per key: the workqueue's delaying half. One timer
// serves the earliest entry, so 10,000 delayed keys cost one timer and O(log n) per add.

export interface Waiting {
  readonly key: string;
  at: number;
  readonly seq: number;
  index: number;
}

/** Min-heap of delayed keys by due time (ties in insertion order), one entry per key. */
export class DelayHeap {
  #items: Waiting[] = [];
  readonly #byKey = new Map<string, Waiting>();
  #seq = 0;

  get size(): number {
    return this.#items.length;
  }

  keys(): IterableIterator<string> {
    return this.#byKey.keys();
  }

  has(key: string): boolean {
    return this.#byKey.has(key);
  }

  peek(): Waiting | undefined {
    return this.#items[0];
  }

  /** Adds `key` due at `at`; a key already waiting keeps the earlier time (as client-go). */
  schedule(key: string, at: number): void {
    const existing = this.#byKey.get(key);
    if (existing !== undefined) {
      if (at < existing.at) {
        existing.at = at;
        this.#up(existing.index);
      }
      return;
    }
    const entry: Waiting = { key, at, seq: this.#seq++, index: this.#items.length };
    this.#items.push(entry);
    this.#byKey.set(key, entry);
    this.#up(entry.index);
  }

  pop(): Waiting | undefined {
    const top = this.#items[0];
    if (top === undefined) return undefined;
    const last = this.#items.pop() as Waiting;
    this.#byKey.delete(top.key);
    if (last !== top) {
      this.#place(last, 0);
      this.#down(0);
    }
    return top;
  }

  clear(): void {
    this.#items = [];
    this.#byKey.clear();
  }

  #less(a: Waiting, b: Waiting): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #place(entry: Waiting, index: number): void {
    this.#items[index] = entry;
    entry.index = index;
  }

  #up(index: number): void {
    const entry = this.#items[index] as Waiting;
    let i = index;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = this.#items[parentIndex] as Waiting;
      if (!this.#less(entry, parent)) break;
      this.#place(parent, i);
      i = parentIndex;
    }
    this.#place(entry, i);
  }

  #down(index: number): void {
    const entry = this.#items[index] as Waiting;
    const n = this.#items.length;
    let i = index;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = this.#items[child + 1];
      if (right !== undefined && this.#less(right, this.#items[child] as Waiting)) child++;
      const smaller = this.#items[child] as Waiting;
      if (!this.#less(smaller, entry)) break;
      this.#place(smaller, i);
      i = child;
    }
    this.#place(entry, i);
  }
}

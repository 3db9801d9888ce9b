// The waiting runs of one admission decision, and their positions, without a record per run: a
// release decides over every waiting run of its scope (a queue 1,000 deep: 1,000 runs per release),
// and building a map of them all, an object each, was most of what a decision allocated. The runs
// are kept in admission order; a position is counted when asked for (one run's: the asker's verdict;
// each one's: which written positions went stale), and the map is built only when read as a whole.
import type { PendingRun, Waiting } from "./admission.ts";

export class Waitlist implements ReadonlyMap<string, Waiting> {
  /** Every run of the decision, in admission order, each once. */
  readonly #ordered: readonly PendingRun[];
  /** The runs admitted by the decision (not waiting). */
  readonly #admitted: ReadonlySet<string>;
  /** Runs that wait without a place in line: no such queue, or a request it can never admit. */
  readonly #unplaced: ReadonlyMap<string, Waiting>;
  #all: Map<string, Waiting> | undefined;

  /**
   * `ordered` may be the scope's kept list (scope-memo.ts), which the decision's admitted runs leave
   * as they are taken; no run joins it while the decision is in use, as any change of an entry drops
   * the scope's decision.
   */
  constructor(
    ordered: readonly PendingRun[],
    admitted: ReadonlySet<string>,
    unplaced: ReadonlyMap<string, Waiting>,
  ) {
    this.#ordered = ordered;
    this.#admitted = admitted;
    this.#unplaced = unplaced;
  }

  /**
   * Each waiting run's id and its position (consecutive within its queue, 1 the next to be
   * admitted; undefined for a run without a place in line), in admission order. `visit` returning
   * true stops the walk.
   */
  eachPosition(
    visit: (id: string, position: number | undefined, queue: string) => boolean | undefined,
  ): void {
    let lastQueue = "";
    let lastCount = 0;
    let counts: Map<string, number> | undefined; // a scope of one queue needs no map
    for (const run of this.#ordered) {
      if (this.#admitted.has(run.id)) continue;
      if (this.#unplaced.has(run.id)) {
        if (visit(run.id, undefined, run.queue)) return;
        continue;
      }
      let position: number;
      if (counts === undefined && (lastQueue === "" || lastQueue === run.queue)) {
        lastQueue = run.queue;
        position = ++lastCount;
      } else {
        counts ??= new Map([[lastQueue, lastCount]]);
        position = (counts.get(run.queue) ?? 0) + 1;
        counts.set(run.queue, position);
      }
      if (visit(run.id, position, run.queue)) return;
    }
  }

  get(id: string): Waiting | undefined {
    const unplaced = this.#unplaced.get(id);
    if (unplaced !== undefined || this.#all !== undefined) return unplaced ?? this.#all?.get(id);
    let found: Waiting | undefined;
    this.eachPosition((run, position, queue) => {
      if (run !== id) return false;
      found = position === undefined ? undefined : new WaitingInLine(position, queue);
      return true;
    });
    return found;
  }

  has(id: string): boolean {
    return this.#map().has(id);
  }

  get size(): number {
    return this.#map().size;
  }

  forEach(callback: (value: Waiting, key: string, map: ReadonlyMap<string, Waiting>) => void): void {
    for (const [key, value] of this.#map()) callback(value, key, this);
  }

  entries(): MapIterator<[string, Waiting]> {
    return this.#map().entries();
  }

  keys(): MapIterator<string> {
    return this.#map().keys();
  }

  values(): MapIterator<Waiting> {
    return this.#map().values();
  }

  [Symbol.iterator](): MapIterator<[string, Waiting]> {
    return this.#map()[Symbol.iterator]();
  }

  #map(): Map<string, Waiting> {
    if (this.#all === undefined) {
      const all = new Map<string, Waiting>();
      this.eachPosition((id, position, queue) => {
        all.set(
          id,
          position === undefined ? (this.#unplaced.get(id) as Waiting) : new WaitingInLine(position, queue),
        );
        return false;
      });
      this.#all = all;
    }
    return this.#all;
  }
}

/**
 * A run waiting for quota at its position. The message is written only when asked for (the asker's
 * verdict): a decision's map places every waiting run of its queues.
 */
class WaitingInLine implements Waiting {
  readonly reason = "WaitingForQuota";
  readonly position: number;
  readonly #queue: string;

  constructor(position: number, queue: string) {
    this.position = position;
    this.#queue = queue;
  }

  get message(): string {
    return `position ${this.position} in queue ${this.#queue}: waiting for quota in use by admitted runs`;
  }
}

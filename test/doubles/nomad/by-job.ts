// Server: Nomad 1.9.6, hashicorp/nomad. Follows: nomad/state/schema.go (allocs and evals by job).
// The Nomad double's indexes of allocations and evaluations by job (namespace/id), as Nomad's state
// store keeps them. A purged and re-registered job keeps its id, so each allocation also records the
// instance (the job's CreateIndex) it belongs to.

export class ByJob {
  readonly #allocs = new Map<string, Set<string>>();
  /** Allocation → CreateIndex of the job instance it belongs to. */
  readonly #instance = new Map<string, number>();
  readonly #evals = new Map<string, Set<string>>();

  addAlloc(job: string, alloc: string, instance: number): void {
    this.#instance.set(alloc, instance);
    indexBy(this.#allocs, job, alloc);
  }

  /** The instance the allocation belongs to (undefined: not indexed). */
  instanceOf(alloc: string): number | undefined {
    return this.#instance.get(alloc);
  }

  /** Ids of the job's allocations of `instance`; with `all`, of every instance. */
  allocs(job: string, instance: number | undefined, all: boolean): string[] {
    const out: string[] = [];
    for (const id of this.#allocs.get(job) ?? [])
      if (all || this.#instance.get(id) === instance) out.push(id);
    return out;
  }

  addEval(job: string, evaluation: string): void {
    indexBy(this.#evals, job, evaluation);
  }

  /** Ids of the job's evaluations. */
  evals(job: string): string[] {
    return [...(this.#evals.get(job) ?? [])];
  }
}

function indexBy(index: Map<string, Set<string>>, k: string, id: string): void {
  const ids = index.get(k) ?? new Set<string>();
  ids.add(id);
  index.set(k, ids);
}

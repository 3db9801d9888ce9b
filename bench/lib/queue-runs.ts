// The runs of a queue benchmark as the Nomad double recorded them, and the latency from a run's end
// to the next registration in its queue (bench/queue-nomad.ts).

/** A run as the double recorded it: when its job was first registered, when its allocation completed. */
export interface Run {
  readonly queue: string;
  /** The TrainingJob's namespace/name. */
  readonly job: string;
  /** Epoch ms (the job's SubmitTime; version 0, so its first registration). */
  readonly registered: number;
  /** Epoch ms (its task's FinishedAt), undefined while not complete. */
  readonly completed: number | undefined;
}

/**
 * Every run from the double's own record, read once the runs are over: the jobs list (SubmitTime,
 * Version, the operator's mlops_key meta) and each job's allocations (their tasks' FinishedAt). The
 * times are the double's clock when the register POST was applied and when the task ended.
 * `queueOf` names the queue of TrainingJob job-<index> (without its namespace).
 */
export async function recordedRuns(
  address: string,
  queueOf: (index: number) => string,
): Promise<{ runs: Run[]; changed: number }> {
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${address}${path}`);
    if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
    return (await res.json()) as T;
  };
  type Stub = {
    ID: string;
    Namespace: string;
    SubmitTime: number;
    Version: number;
    Meta?: Record<string, string>;
  };
  type Alloc = { ClientStatus: string; TaskStates?: Record<string, { FinishedAt?: string | null }> | null };
  const stubs = await get<Stub[]>("/v1/jobs?namespace=*&meta=true");
  const found: Run[] = [];
  let changed = 0;
  let next = 0;
  const worker = async () => {
    while (next < stubs.length) {
      const job = stubs[next++] as Stub;
      if (job.Version > 0) changed++; // registered again with a change: SubmitTime is the last one's
      const name = /\/([^/]+)$/.exec(job.Meta?.mlops_key ?? "")?.[1] ?? "";
      const allocs = await get<Alloc[]>(
        `/v1/job/${encodeURIComponent(job.ID)}/allocations?namespace=${encodeURIComponent(job.Namespace)}`,
      );
      const ends = allocs
        .filter((a) => a.ClientStatus === "complete")
        .flatMap((a) => Object.values(a.TaskStates ?? {}).map((t) => Date.parse(t.FinishedAt ?? "")))
        .filter((t) => !Number.isNaN(t));
      found.push({
        queue: `${job.Namespace}/${queueOf(Number(name.replace("job-", "")))}`,
        job: `${job.Namespace}/${name}`,
        registered: job.SubmitTime / 1e6,
        completed: ends.length > 0 ? Math.max(...ends) : undefined,
      });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return { runs: found, changed };
}

/**
 * Release → next admission, per queue: each registration after the queue's first `slots` is paired
 * with the oldest completion not yet paired (a completion and a registration in the same
 * millisecond: the completion first).
 */
export function pairLatencies(
  runs: readonly Pick<Run, "queue" | "registered" | "completed">[],
  slots: number,
): { at: number; latency: number }[] {
  const byQueue = new Map<string, { at: number; finish: boolean }[]>();
  for (const run of runs) {
    const list = byQueue.get(run.queue) ?? [];
    list.push({ at: run.registered, finish: false });
    if (run.completed !== undefined) list.push({ at: run.completed, finish: true });
    byQueue.set(run.queue, list);
  }
  const pairs: { at: number; latency: number }[] = [];
  for (const list of byQueue.values()) {
    list.sort((a, b) => a.at - b.at || Number(b.finish) - Number(a.finish));
    const waiting: number[] = [];
    let registrations = 0;
    for (const { at, finish } of list) {
      if (finish) waiting.push(at);
      else if (++registrations > slots && waiting.length > 0)
        pairs.push({ at, latency: at - (waiting.shift() as number) });
    }
  }
  return pairs.sort((a, b) => a.at - b.at);
}

// Adding the mlops.dev/cleanup finalizer in the background, a few patches at a time (a first list of
// 10,000 objects must not open 10,000 requests), once per object. A status write for an object whose
// addition is pending first settles it (runs it now, or waits for the one in flight), so the two
// patches of a new object do not race into a 409.
import type { Logger } from "pino";
import type { ResourceKey } from "../../api/resources.ts";

export class FinalizerQueue {
  readonly #run: (key: ResourceKey, uid: string) => Promise<void>;
  readonly #concurrency: number;
  readonly #log: Logger | undefined;
  /** Queued, by uid. */
  readonly #queued = new Map<string, ResourceKey>();
  /** Running, by uid. */
  readonly #running = new Map<string, Promise<void>>();
  #closed = false;

  constructor(run: (key: ResourceKey, uid: string) => Promise<void>, concurrency: number, log?: Logger) {
    this.#run = run;
    this.#concurrency = concurrency;
    this.#log = log;
  }

  /** Asks for the finalizer on this object (once while one is queued or running). */
  request(key: ResourceKey, uid: string): void {
    if (this.#closed || this.#queued.has(uid) || this.#running.has(uid)) return;
    this.#queued.set(uid, key);
    this.#pump();
  }

  /** Resolves when no addition for this uid is queued or running (running a queued one now). */
  async settle(uid: string): Promise<void> {
    const queued = this.#queued.get(uid);
    if (queued !== undefined) {
      this.#queued.delete(uid);
      await this.#start(queued, uid);
    } else {
      await this.#running.get(uid);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#queued.clear();
    await Promise.allSettled([...this.#running.values()]);
  }

  #pump(): void {
    while (!this.#closed && this.#running.size < this.#concurrency) {
      const next = this.#queued.entries().next();
      if (next.done) return;
      const [uid, key] = next.value;
      this.#queued.delete(uid);
      this.#start(key, uid).catch(() => {});
    }
  }

  #start(key: ResourceKey, uid: string): Promise<void> {
    const work = this.#run(key, uid)
      .catch((error: unknown) => {
        this.#log?.warn({ key, err: error }, "adding the finalizer failed (retried on the next event)");
      })
      .finally(() => {
        this.#running.delete(uid);
        this.#pump();
      });
    this.#running.set(uid, work);
    return work;
  }
}

// A source whose resources carry their last written status, as Kubernetes objects do. Reconcilers
// read the recorded run (status.run), the resolver reads a stack's endpoints, finalizers read where a
// run was placed. Statuses are cached in memory: filled on write, and once per key from the store.
import type { Observable } from "rxjs";
import type { AnyResource, Kind, ResourceKey, StatusOf } from "../api/resources.ts";
import { keyOf } from "../api/resources.ts";
import type { Lookup, Source } from "./source.ts";

export type StatusReader = (key: ResourceKey) => Record<string, unknown> | undefined;

export class SourceWithStatus implements Source {
  readonly #source: Source;
  readonly #read: StatusReader;
  readonly #cache = new Map<ResourceKey, Record<string, unknown> | null>();

  constructor(source: Source, read: StatusReader) {
    this.#source = source;
    this.#read = read;
  }

  get description(): string {
    return this.#source.description;
  }

  get defaultOwnerId(): string {
    return this.#source.defaultOwnerId;
  }

  start(): Promise<void> {
    return this.#source.start();
  }

  changes(): Observable<ResourceKey> {
    return this.#source.changes();
  }

  settled(): boolean {
    return this.#source.settled();
  }

  revision(): string | undefined {
    return this.#source.revision();
  }

  close(): Promise<void> {
    return this.#source.close();
  }

  lookup(key: ResourceKey): Lookup {
    const found = this.#source.lookup(key);
    switch (found.state) {
      case "present":
        return { state: "present", resource: this.#attach(found.resource) };
      case "invalid":
      case "deleted":
        return found.lastKnown ? { ...found, lastKnown: this.#attach(found.lastKnown) } : found;
      case "absent":
        return found;
    }
  }

  get(key: ResourceKey): AnyResource | undefined {
    const resource = this.#source.get(key);
    return resource && this.#attach(resource);
  }

  list(kind: Kind, namespace?: string): AnyResource[] {
    return this.#source.list(kind, namespace).map((r) => this.#attach(r));
  }

  async write<R extends AnyResource>(resource: R, status: StatusOf<R>): Promise<void> {
    await this.#source.write(resource, status);
    this.#cache.set(keyOf(resource), status as Record<string, unknown>);
  }

  async forget(key: ResourceKey): Promise<void> {
    await this.#source.forget(key);
    this.#cache.delete(key);
  }

  #attach<R extends AnyResource>(resource: R): R {
    const key = keyOf(resource);
    let status = this.#cache.get(key);
    if (status === undefined) {
      status = this.#read(key) ?? null;
      this.#cache.set(key, status);
    }
    return status === null ? resource : ({ ...resource, status } as R);
  }
}

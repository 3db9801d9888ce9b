// What the Kubernetes source knows, in memory and without I/O: the latest observation of every
// object, its last valid version, whether the API server deleted it, and which keys changed in a way
// reconcilers care about (fingerprints: state, uid, generation, labels, annotations; never status).
// Deletion is the server's word: a DELETED event, or absence from a complete list. Objects finalized
// and forgotten are remembered by uid so that their late events do not bring them back.
import { type AnyResource, type Kind, makeKey, parseKey, type ResourceKey } from "../../api/resources.ts";
import type { Lookup } from "../../controller/source.ts";
import type { RawObject } from "./api.ts";
import { fingerprint, type Observed, observe } from "./objects.ts";

interface Entry {
  observed: Observed;
  lastValid: AnyResource | undefined;
  /** Deleted on the server (DELETED event, or missing from a complete list). */
  gone: boolean;
}

const FORGOTTEN_LIMIT = 10_000;

export class KubeTable {
  readonly #entries = new Map<ResourceKey, Entry>();
  /** The keys of each kind (a list reads one kind's, not every object's). */
  readonly #byKind = new Map<Kind, Set<ResourceKey>>();
  readonly #emitted = new Map<ResourceKey, string>();
  readonly #forgotten = new Set<string>();
  /** Keys whose latest observation fails validation (and that are not gone). */
  readonly #invalid = new Set<ResourceKey>();
  readonly #changed: (key: ResourceKey) => void;

  /** `changed` is called for each key whose fingerprint changed. */
  constructor(changed: (key: ResourceKey) => void) {
    this.#changed = changed;
  }

  keys(): ResourceKey[] {
    return [...this.#entries.keys()];
  }

  observed(key: ResourceKey): Observed | undefined {
    const entry = this.#entries.get(key);
    return entry && !entry.gone ? entry.observed : undefined;
  }

  lookup(key: ResourceKey): Lookup {
    const entry = this.#entries.get(key);
    if (!entry) return { state: "absent" };
    const lastKnown = entry.lastValid ? { lastKnown: entry.lastValid } : {};
    if (entry.gone || entry.observed.deleting) return { state: "deleted", ...lastKnown };
    if (entry.observed.error) return { state: "invalid", error: entry.observed.error, ...lastKnown };
    return { state: "present", resource: entry.observed.resource as AnyResource };
  }

  list(kind: Kind, namespace?: string): AnyResource[] {
    // As the directory's table lists: one array of the most it can hold, cut (each scrape lists
    // every resource), filled by forEach (no iterator result a key).
    const keys = this.#byKind.get(kind);
    const out: AnyResource[] = namespace === undefined ? new Array(keys?.size ?? 0) : [];
    let count = 0;
    keys?.forEach((key) => {
      const entry = this.#entries.get(key);
      const resource = entry?.observed.resource;
      if (!entry || !resource || entry.gone || entry.observed.deleting || entry.observed.error) return;
      if (namespace !== undefined && resource.metadata.namespace !== namespace) return;
      out[count++] = resource;
    });
    out.length = count;
    return out;
  }

  invalidCount(): number {
    return this.#invalid.size;
  }

  /** An object as the server sent it (list item, ADDED, MODIFIED, a write's response). */
  apply(kind: Kind, raw: RawObject): Observed | undefined {
    if (!raw?.metadata?.name || !raw.metadata.namespace) return undefined;
    if (raw.metadata.uid && this.#forgotten.has(raw.metadata.uid)) return undefined;
    const observed = observe(kind, raw);
    const previous = this.#entries.get(observed.key);
    const sameObject = previous !== undefined && previous.observed.uid === observed.uid;
    this.#keysOf(kind).add(observed.key);
    this.#entries.set(observed.key, {
      observed,
      lastValid: observed.resource ?? (sameObject ? previous.lastValid : undefined),
      gone: false,
    });
    if (observed.error) this.#invalid.add(observed.key);
    else this.#invalid.delete(observed.key);
    this.#emit(observed.key);
    return observed;
  }

  /**
   * An object a watch event, a write or a read answered with. An answer can arrive after watch events
   * of later writes (another client's spec change right after our status write), and a watch event
   * queued before our write can arrive after its answer: what is older than the object the table
   * holds is not applied, or the table would go back (to the older generation, whose change it already
   * emitted; to the status before our write, which readers of the status would take for the current
   * one). Older by resourceVersion, which the API is free to make opaque: only two decimal integers
   * (etcd's revisions, as every API server writes them) are compared; anything else is applied.
   * A complete list is applied as it is (`replaceKind`): it is the server's word.
   */
  applyNewer(kind: Kind, raw: RawObject): Observed | undefined {
    const meta = raw?.metadata;
    const previous =
      meta?.name && meta.namespace ? this.#entries.get(makeKey(kind, meta.namespace, meta.name)) : undefined;
    if (
      previous &&
      !previous.gone &&
      previous.observed.uid === meta?.uid &&
      isOlder(meta?.resourceVersion, previous.observed.resourceVersion)
    ) {
      return previous.observed;
    }
    return this.apply(kind, raw);
  }

  /** A DELETED event: the object is gone, its last valid version is what finalize gets. */
  deleted(kind: Kind, raw: RawObject): void {
    const observed = this.apply(kind, raw);
    if (observed) this.markGone(observed.key);
  }

  markGone(key: ResourceKey): void {
    const entry = this.#entries.get(key);
    if (!entry || entry.gone) return;
    entry.gone = true;
    this.#invalid.delete(key);
    this.#emit(key);
  }

  /** A complete list of a kind: every object applied; those of the kind it lacks are gone. */
  replaceKind(kind: Kind, items: readonly RawObject[]): void {
    const seen = new Set<ResourceKey>();
    for (const item of items) {
      const observed = this.apply(kind, item);
      if (observed) seen.add(observed.key);
    }
    for (const key of [...this.#keysOf(kind)]) {
      if (!seen.has(key)) this.markGone(key);
    }
  }

  /** Drops the record of a finalized object; its uid's late events are ignored from now on. */
  forget(key: ResourceKey): void {
    const uid = this.#entries.get(key)?.observed.uid;
    if (uid) {
      this.#forgotten.add(uid);
      if (this.#forgotten.size > FORGOTTEN_LIMIT) {
        const oldest = this.#forgotten.values().next().value;
        if (oldest !== undefined) this.#forgotten.delete(oldest);
      }
    }
    this.#entries.delete(key);
    this.#byKind.get(parseKey(key).kind)?.delete(key);
    this.#emitted.delete(key);
    this.#invalid.delete(key);
  }

  #keysOf(kind: Kind): Set<ResourceKey> {
    let keys = this.#byKind.get(kind);
    if (!keys) {
      keys = new Set();
      this.#byKind.set(kind, keys);
    }
    return keys;
  }

  #emit(key: ResourceKey): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    const print = fingerprint(entry.observed, entry.gone);
    if (this.#emitted.get(key) === print) return;
    this.#emitted.set(key, print);
    this.#changed(key);
  }
}

const DECIMAL = /^\d{1,15}$/;

function isOlder(incoming: string | undefined, held: string | undefined): boolean {
  if (!incoming || !held || !DECIMAL.test(incoming) || !DECIMAL.test(held)) return false;
  return Number(incoming) < Number(held);
}

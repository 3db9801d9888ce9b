// The directory's table (table.ts) by key: each key's claims and its last good one, the keys of each
// kind there are few of, and what a read under way changes.
import { oneOrMany } from "../../api/one-or-many.ts";
import type { Kind, ResourceKey } from "../../api/resources.ts";
import type { Lookup } from "../../controller/source.ts";
import { type Claim, type Claims, changePrint, type ValidClaim } from "./claims.ts";

/** The kind listed by walking every claim, not through a set of its keys. */
const NUMEROUS: Kind = "TrainingJob";
const NUMEROUS_PREFIX = `${NUMEROUS}/`;

/**
 * The keys of the table's claims by kind, for every kind but TrainingJob: a list of one kind
 * (Notifiers, on every phase change) reads only those. TrainingJobs, the kind there are thousands
 * of, are listed by walking the claims, where they are nearly all of it: a set of every job's key
 * was a table of ~330 KB at 10,000 (docs/benchmarks.md, round 31).
 */
class KindKeys {
  readonly #byKind = new Map<string, Set<ResourceKey>>();

  /** The keys of `kind` (none for TrainingJob: walk the claims). */
  of(kind: Kind): ReadonlySet<ResourceKey> | undefined {
    return kind === NUMEROUS ? undefined : this.#byKind.get(kind);
  }

  add(key: ResourceKey): void {
    if (key.startsWith(NUMEROUS_PREFIX)) return;
    const kind = key.slice(0, key.indexOf("/"));
    let keys = this.#byKind.get(kind);
    if (!keys) {
      keys = new Set();
      this.#byKind.set(kind, keys);
    }
    keys.add(key);
  }

  delete(key: ResourceKey): void {
    if (!key.startsWith(NUMEROUS_PREFIX)) this.#byKind.get(key.slice(0, key.indexOf("/")))?.delete(key);
  }
}

/**
 * Each key's claims (its one claim itself, an array only for duplicates), and its last valid single
 * claim (its last known resource and the file that held it) where that is not its claim now: a key
 * whose one claim is valid is its own last good, with no second entry per resource (a table of
 * ~460 KB at 10,000; docs/benchmarks.md, round 31). A claim is kept as last good as its key's claims
 * are about to change (`pin`).
 */
export class KeyClaims {
  readonly #claims = new Map<ResourceKey, Claims>();
  readonly #byKind = new KindKeys();
  readonly #lastGood = new Map<ResourceKey, ValidClaim>();

  get size(): number {
    return this.#claims.size;
  }

  get(key: ResourceKey): Claims | undefined {
    return this.#claims.get(key);
  }

  has(key: ResourceKey): boolean {
    return this.#claims.has(key);
  }

  keys(): IterableIterator<ResourceKey> {
    return this.#claims.keys();
  }

  /** How many keys of `kind` there are at most (for TrainingJob, every key). */
  mostOfKind(kind: Kind): number {
    return kind === NUMEROUS ? this.#claims.size : (this.#byKind.of(kind)?.size ?? 0);
  }

  /**
   * Calls `each` with every key of `kind` and its claims (for TrainingJob, every key: `each` tells the
   * kind). forEach, not for-of, which in code V8 does not optimize made an iterator result a key.
   */
  forEachOfKind(kind: Kind, each: (held: Claims | undefined, key: ResourceKey) => void): void {
    if (kind === NUMEROUS) this.#claims.forEach(each);
    else
      this.#byKind.of(kind)?.forEach((key) => {
        each(this.#claims.get(key), key);
      });
  }

  add(claim: Claim): void {
    const held = this.#claims.get(claim.key);
    if (held === undefined) {
      this.#claims.set(claim.key, claim);
      this.#byKind.add(claim.key);
    } else if (Array.isArray(held)) held.push(claim);
    else this.#claims.set(claim.key, [held, claim]);
  }

  remove(claim: Claim): void {
    const held = this.#claims.get(claim.key);
    if (held === undefined) return;
    const rest = Array.isArray(held) ? held.filter((c) => c !== claim) : held === claim ? [] : [held];
    if (rest.length === 0) {
      this.#claims.delete(claim.key);
      this.#byKind.delete(claim.key);
    } else this.#claims.set(claim.key, oneOrMany(rest));
  }

  /** The key's last valid single claim: its one claim now when that is valid, else the one kept. */
  lastGood(key: ResourceKey): ValidClaim | undefined {
    const held = this.#claims.get(key);
    if (held !== undefined && !Array.isArray(held) && held.ok) return held;
    return this.#lastGood.get(key);
  }

  /** Keeps the key's one valid claim as its last good, before its claims change. */
  pin(key: ResourceKey): void {
    const held = this.#claims.get(key);
    if (held !== undefined && !Array.isArray(held) && held.ok) this.#lastGood.set(key, held);
  }

  /** Drops the last good kept for `key` (its one valid claim is its own again, or it is gone). */
  unpin(key: ResourceKey): void {
    this.#lastGood.delete(key);
  }
}

/**
 * While a read is under way (`start` to `changed`): each key it changes, with its change print (what
 * the source compares to tell a change) before its first change. The source kept the print it last
 * emitted per key instead: a map of every resource (~460 KB at 10,000; docs/benchmarks.md, round 31)
 * for what a read's first change of a key can note.
 */
export class ChangePrints {
  #before: Map<ResourceKey, string> | undefined;

  /** Starts a read (`note` false: nothing is noted, and every key affected counts as changed). */
  start(note: boolean): void {
    this.#before = note ? new Map() : undefined;
  }

  /** Notes the key's print as it is now, before the read's first change of it. */
  note(key: ResourceKey, lookup: (key: ResourceKey) => Lookup): void {
    if (this.#before && !this.#before.has(key)) this.#before.set(key, changePrint(lookup(key)));
  }

  /** Ends the read: the keys of `affected` whose lookup differs from before it (absent now: changed). */
  changed(affected: Iterable<ResourceKey>, lookup: (key: ResourceKey) => Lookup): ResourceKey[] {
    const before = this.#before;
    this.#before = undefined;
    const out: ResourceKey[] = [];
    for (const key of affected) {
      const found = lookup(key);
      if (found.state === "absent" || before?.get(key) !== changePrint(found)) out.push(key);
    }
    return out;
  }
}

// The directory source's model of what the files say, without I/O: which file claims which
// resource, what is invalid, what is missing and for how many reads, and what each key looks up to.
// The prune guards live here: a key is only `deleted` after endFullRead() judged it (prune.ts).
import { InvalidSpecError } from "../../api/errors.ts";
import { countOf, oneOrMany } from "../../api/one-or-many.ts";
import type { AnyResource, Kind, ResourceKey } from "../../api/resources.ts";
import type { Lookup } from "../../controller/source.ts";
import type { FileLoad, LocatedIssue } from "../yaml/index.ts";
import {
  claimDocument,
  claimsOf,
  duplicateError,
  type FileRecord,
  firstProblem,
  isEntry,
  lastGoodOf,
} from "./claims.ts";
import type { OkDocument } from "./file-reads.ts";
import { ChangePrints, KeyClaims } from "./key-index.ts";
import {
  type FullRead,
  isMassPrune,
  judgeAbsence,
  type MassPruneBlock,
  type MassPruneLimits,
  pruneDisabled,
} from "./prune.ts";

export type { Claim } from "./claims.ts";

export interface PrunePolicy {
  readonly settleMs: number;
  /** `--prune=false`: keys that would be pruned are retained instead (their objects stay). */
  readonly enabled: boolean;
  readonly mass: MassPruneLimits;
}

/** A key judged after a full read: pruned (now `deleted`) or retained (prune disabled). */
export interface PruneDecision {
  readonly key: ResourceKey;
  readonly lastKnown: AnyResource | undefined;
  /** The file that last held it, when read in this process. */
  readonly file?: string;
  readonly first: FullRead;
  readonly second: FullRead;
}

export interface FullReadOutcome {
  readonly pruned: PruneDecision[];
  readonly retained: PruneDecision[];
  /** A mass prune nothing was pruned for: how many of how many, which keys. */
  readonly massBlocked?: MassPruneBlock;
  /** When the next full read may confirm a pending absence (none: nothing pending or blocked). */
  readonly dueAt?: number;
}

export interface TableHooks {
  /** Assigns generation (and creationTimestamp) to a valid resource that is the only claim of its key. */
  stamp(key: ResourceKey, resource: AnyResource, hash: string): void;
  /** File name as shown in messages. */
  display(file: string): string;
  hash(spec: unknown): string;
}

export class ResourceTable {
  readonly #files = new Map<string, FileRecord>();
  /** Each key's claims and its last good one (key-index.ts). */
  readonly #claims = new KeyClaims();
  /** Keys of broken files' last good contents that no file claims now: invalid, never deleted. */
  readonly #orphans = new Map<ResourceKey, InvalidSpecError>();
  /** Keys no file holds, with the clean full read their absence counts from (none yet: undefined). */
  readonly #missing = new Map<ResourceKey, FullRead | undefined>();
  readonly #deleted = new Map<ResourceKey, AnyResource | undefined>();
  /** Keys whose file went while pruning is disabled for them: their objects are kept. */
  readonly #retained = new Map<ResourceKey, AnyResource | undefined>();
  readonly #broken = new Set<string>();
  /** Entries that could not be read or parsed (any file, ours or not), with the first problem. */
  readonly #unreadable = new Map<string, LocatedIssue>();
  /** Changes seen in the tree (setFile calls, directory flips): two reads agree when it is unchanged. */
  #version = 0;
  readonly #duplicates = new Set<ResourceKey>();
  /** What the read under way changes (key-index.ts). */
  readonly #prints = new ChangePrints();
  readonly #lookup = (key: ResourceKey) => this.lookup(key);
  readonly #hooks: TableHooks;

  constructor(hooks: TableHooks) {
    this.#hooks = hooks;
  }

  files(): IterableIterator<string> {
    return this.#files.keys();
  }

  hasFile(file: string): boolean {
    return this.#files.has(file);
  }

  /** A clean file's one valid document at its last read, from its claim (none for any other file). */
  cleanDocument(file: string): OkDocument | undefined {
    const record = this.#files.get(file);
    if (record === undefined || isEntry(record)) return undefined;
    return { ok: true, resource: record.resource, line: record.line, col: record.col };
  }

  brokenFiles(): string[] {
    return [...this.#broken];
  }

  /** Entries that block every prune: not a regular file, empty, binary, or unparsable. */
  unreadable(): LocatedIssue[] {
    return [...this.#unreadable.values()];
  }

  get version(): number {
    return this.#version;
  }

  /** Records a change that is not a file's (the directory appeared or went). */
  touch(): void {
    this.#version++;
  }

  hasResources(): boolean {
    return this.#claims.size > 0 || this.#orphans.size > 0;
  }

  duplicates(): ResourceKey[] {
    return [...this.#duplicates];
  }

  retained(): ResourceKey[] {
    return [...this.#retained.keys()];
  }

  missing(): ResourceKey[] {
    return [...this.#missing.keys()];
  }

  /**
   * Starts a read: from now until `changed`, each key's change print before its first change is noted
   * (`note` false: nothing is, and every key affected counts as changed, as in a first read).
   */
  watchChanges(note = true): void {
    this.#prints.start(note);
  }

  /**
   * Ends a read: the keys of `affected` whose lookup now differs from before the read, by their change
   * print (a key absent now, or not noted, counts as changed).
   */
  changed(affected: Iterable<ResourceKey>): ResourceKey[] {
    return this.#prints.changed(affected, this.#lookup);
  }

  /** Records what a file holds now (`undefined`: the file is gone). Returns the keys it may affect. */
  setFile(file: string, load: FileLoad | undefined): Set<ResourceKey> {
    const affected = new Set<ResourceKey>();
    this.#version++;
    const old = this.#files.get(file);
    // A file that fails to read or parse is kept (unreadable) whoever it belongs to: whether it holds
    // mlops.dev resources is only ever concluded from a file that parsed.
    const kept =
      load && (load.ours || load.documents.length > 0 || load.fileIssues.length > 0) ? load : undefined;
    // One document: claimDocument's literal array (a flatMap's keeps room for 16 more claims, 128 B a
    // file), kept as its one claim.
    const only = kept?.documents.length === 1 ? kept.documents[0] : undefined;
    const claims = only
      ? claimDocument(file, only, this.#hooks)
      : (kept?.documents.flatMap((doc) => claimDocument(file, doc, this.#hooks)) ?? []);
    // Each key whose claims change keeps its one valid claim as its last good first, as it was settled:
    // mid-change a key may pass through a claim that was never its only one.
    if (old) {
      for (const claim of claimsOf(old)) this.#pin(claim.key);
      for (const key of lastGoodOf(old)) this.#note(key);
    }
    for (const claim of claims) this.#pin(claim.key);
    if (old) {
      for (const claim of claimsOf(old)) {
        affected.add(claim.key);
        this.#claims.remove(claim);
      }
      for (const key of lastGoodOf(old)) affected.add(key);
    }
    this.#broken.delete(file);
    this.#unreadable.delete(file);
    if (!kept) {
      this.#files.delete(file);
    } else {
      const load = kept;
      const problem = load.fileIssues[0] ?? firstProblem(load.documents);
      // A file that held our resources stays ours while it is broken, whatever it says now.
      const ours = load.ours || (problem !== undefined && old !== undefined && lastGoodOf(old).length > 0);
      const broken = ours && problem !== undefined;
      const one = claims.length === 1 ? claims[0] : undefined;
      const record: FileRecord =
        ours && !problem && one?.ok
          ? one
          : {
              ours,
              broken,
              claims: oneOrMany(claims),
              ...(broken ? { lastGood: old ? [...lastGoodOf(old)] : [] } : {}),
              ...(problem ? { problem } : {}),
            };
      this.#files.set(file, record);
      if (broken) this.#broken.add(file);
      const unreadable = load.fileIssues[0];
      if (unreadable) this.#unreadable.set(file, unreadable);
      for (const claim of claims) {
        affected.add(claim.key);
        this.#claims.add(claim);
      }
    }
    for (const key of affected) this.#settle(key);
    return affected;
  }

  /** Marks keys known from before (the state directory) that no file holds as missing. */
  expect(keys: Iterable<ResourceKey>): void {
    for (const key of keys) {
      if (!this.#held(key) && !this.#missing.has(key) && !this.#deleted.has(key) && !this.#retained.has(key))
        this.#missing.set(key, undefined);
    }
  }

  /**
   * Ends a full read (`read.version` is this table's version at its end). Each missing key is judged
   * (prune.ts): pruned keys become `deleted`, or `retained` when pruning is disabled for them; a
   * mass prune prunes nothing. Event reads never call this: only full reads count.
   */
  endFullRead(
    read: FullRead,
    policy: PrunePolicy,
    lastKnownOf: (key: ResourceKey) => AnyResource | undefined,
  ): FullReadOutcome {
    const due: PruneDecision[] = [];
    let dueAt: number | undefined;
    for (const [key, first] of this.#missing) {
      if (this.#held(key)) {
        this.#missing.delete(key);
        continue;
      }
      const verdict = judgeAbsence(first, read, policy.settleMs);
      if (verdict.verdict === "wait") {
        this.#missing.set(key, verdict.first);
        if (verdict.dueAt !== undefined) dueAt = Math.min(dueAt ?? verdict.dueAt, verdict.dueAt);
        continue;
      }
      const good = this.#claims.lastGood(key);
      const lastKnown = good?.resource ?? lastKnownOf(key);
      const file = good?.file;
      this.#note(key);
      due.push({ key, lastKnown, ...(file ? { file } : {}), first: verdict.first, second: verdict.second });
    }
    const retained = due.filter((d) => !policy.enabled || pruneDisabled(d.lastKnown?.metadata.annotations));
    const pruned = due.filter((d) => !retained.includes(d));
    for (const d of retained) {
      this.#missing.delete(d.key);
      this.#retained.set(d.key, d.lastKnown);
    }
    const total = this.#claims.size + this.#orphans.size + this.#missing.size;
    const emptied = pruned.length > 0 && !this.hasResources() && !policy.mass.allow;
    if (emptied || isMassPrune(pruned.length, total, policy.mass)) {
      // Nothing pruned; the keys keep their first absence, so a confirmed run prunes them at once.
      const keys = pruned.map((d) => d.key).sort();
      return { pruned: [], retained, massBlocked: { keys, total, ...(emptied ? { emptied } : {}) } };
    }
    for (const d of pruned) {
      this.#missing.delete(d.key);
      this.#deleted.set(d.key, d.lastKnown);
      this.#claims.unpin(d.key);
    }
    return { pruned, retained, ...(dueAt !== undefined ? { dueAt } : {}) };
  }

  forget(key: ResourceKey): void {
    this.#deleted.delete(key);
    this.#retained.delete(key);
    this.#missing.delete(key);
    this.#claims.unpin(key);
  }

  keys(): Set<ResourceKey> {
    return new Set([
      ...this.#claims.keys(),
      ...this.#orphans.keys(),
      ...this.#deleted.keys(),
      ...this.#retained.keys(),
      ...this.#missingKnown(),
    ]);
  }

  lookup(key: ResourceKey): Lookup {
    if (this.#deleted.has(key)) {
      const lastKnown = this.#deleted.get(key);
      return lastKnown ? { state: "deleted", lastKnown } : { state: "deleted" };
    }
    if (this.#retained.has(key)) {
      const lastKnown = this.#retained.get(key);
      return lastKnown ? { state: "retained", lastKnown } : { state: "retained" };
    }
    const lastKnown = this.#claims.lastGood(key)?.resource;
    const held = this.#claims.get(key);
    const known = lastKnown ? { lastKnown } : {};
    if (Array.isArray(held))
      return { state: "invalid", error: duplicateError(key, held, this.#hooks.display), ...known };
    const claim = held;
    if (claim)
      return claim.ok
        ? { state: "present", resource: claim.resource }
        : { state: "invalid", error: claim.error, ...known };
    const orphan = this.#orphans.get(key);
    if (orphan) return { state: "invalid", error: orphan, ...known };
    // Absent from one read only: keep the last known resource until the prune guards pass.
    if (lastKnown && this.#missing.has(key)) return { state: "present", resource: lastKnown };
    return { state: "absent" };
  }

  /** Present resources of a kind: single valid claims, and last known versions of missing keys. */
  list(kind: Kind, namespace?: string): AnyResource[] {
    // Each scrape lists every resource (the metrics' families): one array of the most it can hold,
    // cut to what it holds (pushed, it was copied as it grew: ~3 times its size allocated), and
    // forEach, not for-of, which in code V8 does not optimize made an iterator result a key.
    const most = this.#claims.mostOfKind(kind);
    const out: AnyResource[] = namespace === undefined ? new Array(most + this.#missing.size) : [];
    let count = 0;
    const take = (r: AnyResource) => {
      if (r.kind === kind && (namespace === undefined || r.metadata.namespace === namespace))
        out[count++] = r;
    };
    this.#claims.forEachOfKind(kind, (held, key) => {
      const only = Array.isArray(held) ? undefined : held;
      if (only?.ok && !this.#deleted.has(key)) take(only.resource);
    });
    this.#missing.forEach((_, key) => {
      const r = this.#claims.lastGood(key)?.resource;
      if (r && !this.#claims.has(key) && !this.#orphans.has(key)) take(r);
    });
    out.length = count;
    return out;
  }

  /** Recomputes one key after a file changed: orphan, missing, generation, last known. */
  #settle(key: ResourceKey): void {
    const held = this.#claims.get(key);
    const count = countOf(held);
    if (count > 1) this.#duplicates.add(key);
    else this.#duplicates.delete(key);
    this.#orphans.delete(key);
    if (count === 0) {
      for (const [file, entry] of this.#files) {
        if (isEntry(entry) && entry.broken && entry.problem && entry.lastGood?.includes(key)) {
          const p = entry.problem;
          const message = `${this.#hooks.display(file)}:${p.line}:${p.col}: ${p.message}`;
          this.#orphans.set(key, new InvalidSpecError([{ path: [], message: p.message }], message));
          break;
        }
      }
    }
    if (this.#held(key)) {
      this.#missing.delete(key);
      this.#deleted.delete(key);
      this.#retained.delete(key);
    } else if (!this.#deleted.has(key) && !this.#retained.has(key) && !this.#missing.has(key)) {
      this.#missing.set(key, undefined);
    }
    const only = Array.isArray(held) ? undefined : held;
    if (only?.ok) {
      this.#hooks.stamp(key, only.resource, only.hash);
      this.#claims.unpin(key); // its own last good now
    }
  }

  /** Keeps the key's one valid claim as its last good (before its claims change), and notes its print. */
  #pin(key: ResourceKey): void {
    this.#note(key);
    this.#claims.pin(key);
  }

  /** Notes the key's change print as it is before the read's first change of it. */
  #note(key: ResourceKey): void {
    this.#prints.note(key, this.#lookup);
  }

  #held(key: ResourceKey): boolean {
    return this.#claims.has(key) || this.#orphans.has(key);
  }

  *#missingKnown(): Iterable<ResourceKey> {
    for (const key of this.#missing.keys()) if (this.#claims.lastGood(key)) yield key;
  }
}

// The directory source's model of what the files say, without I/O: which file claims which
// resource, what is invalid, what is missing and for how many reads, and what each key looks up to.
// The prune guards live here: a key is only `deleted` after confirm() on a clean read.
import { InvalidSpecError } from "../../api/errors.ts";
import { type AnyResource, type Kind, makeKey, type ResourceKey } from "../../api/resources.ts";
import type { Lookup } from "../../controller/source.ts";
import type { DocumentResult, FileLoad, LocatedIssue } from "../yaml/index.ts";

export type Claim =
  | {
      key: ResourceKey;
      file: string;
      line: number;
      col: number;
      ok: true;
      resource: AnyResource;
      hash: string;
    }
  | { key: ResourceKey; file: string; line: number; col: number; ok: false; error: InvalidSpecError };

interface FileEntry {
  ours: boolean;
  broken: boolean;
  claims: Claim[];
  /** First problem of the file, for resources it held when last good. */
  problem?: LocatedIssue;
  /** Keys of the last read of this file that had no problem. */
  lastGood: ResourceKey[];
}

export interface TableHooks {
  /** Assigns generation (and creationTimestamp) to a valid resource that is the only claim of its key. */
  stamp(key: ResourceKey, resource: AnyResource, hash: string): void;
  /** File name as shown in messages. */
  display(file: string): string;
  hash(spec: unknown): string;
}

export class ResourceTable {
  readonly #files = new Map<string, FileEntry>();
  readonly #claims = new Map<ResourceKey, Claim[]>();
  readonly #lastKnown = new Map<ResourceKey, AnyResource>();
  /** Keys of broken files' last good contents that no file claims now: invalid, never deleted. */
  readonly #orphans = new Map<ResourceKey, InvalidSpecError>();
  /** Keys no file holds, with the number of clean reads they have been absent from. */
  readonly #missing = new Map<ResourceKey, number>();
  readonly #deleted = new Map<ResourceKey, AnyResource | undefined>();
  readonly #broken = new Set<string>();
  readonly #duplicates = new Set<ResourceKey>();
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

  brokenFiles(): string[] {
    return [...this.#broken];
  }

  hasResources(): boolean {
    return this.#claims.size > 0 || this.#orphans.size > 0;
  }

  duplicates(): ResourceKey[] {
    return [...this.#duplicates];
  }

  missing(): ResourceKey[] {
    return [...this.#missing.keys()];
  }

  /** Records what a file holds now (`undefined`: the file is gone). Returns the keys it may affect. */
  setFile(file: string, load: FileLoad | undefined): Set<ResourceKey> {
    const affected = new Set<ResourceKey>();
    const old = this.#files.get(file);
    if (old) {
      for (const claim of old.claims) {
        affected.add(claim.key);
        this.#unclaim(claim);
      }
      for (const key of old.lastGood) affected.add(key);
    }
    this.#broken.delete(file);
    if (
      !load ||
      (!load.ours && load.documents.length === 0 && !(old?.lastGood.length && load.fileIssues.length))
    ) {
      this.#files.delete(file);
    } else {
      const claims = load.documents.flatMap((doc) => this.#claim(file, doc));
      const problem = load.fileIssues[0] ?? firstProblem(load.documents);
      // A file that held our resources stays ours while it is broken, whatever it says now.
      const ours = load.ours || (problem !== undefined && (old?.lastGood.length ?? 0) > 0);
      const broken = ours && problem !== undefined;
      const entry: FileEntry = {
        ours,
        broken,
        claims,
        lastGood: broken ? (old?.lastGood ?? []) : claims.map((c) => c.key),
        ...(problem ? { problem } : {}),
      };
      this.#files.set(file, entry);
      if (broken) this.#broken.add(file);
      for (const claim of claims) {
        affected.add(claim.key);
        const list = this.#claims.get(claim.key);
        if (list) list.push(claim);
        else this.#claims.set(claim.key, [claim]);
      }
    }
    for (const key of affected) this.#settle(key);
    return affected;
  }

  /** Marks keys known from before (the state directory) that no file holds as missing. */
  expect(keys: Iterable<ResourceKey>): void {
    for (const key of keys) {
      if (!this.#held(key) && !this.#missing.has(key) && !this.#deleted.has(key)) this.#missing.set(key, 0);
    }
  }

  /**
   * Ends a read. A read is clean when the directory exists, holds resources, and no mlops.dev file
   * is broken or duplicated; missing keys count the clean reads they were absent from, and after two
   * (two settled reads that agree) they are deleted. Returns the keys deleted now.
   */
  endRead(clean: boolean, lastKnownOf: (key: ResourceKey) => AnyResource | undefined): ResourceKey[] {
    if (!clean) return [];
    const out: ResourceKey[] = [];
    for (const [key, absences] of this.#missing) {
      if (this.#held(key)) {
        this.#missing.delete(key);
        continue;
      }
      if (absences + 1 < 2) {
        this.#missing.set(key, absences + 1);
        continue;
      }
      this.#missing.delete(key);
      this.#deleted.set(key, this.#lastKnown.get(key) ?? lastKnownOf(key));
      this.#lastKnown.delete(key);
      out.push(key);
    }
    return out;
  }

  forget(key: ResourceKey): void {
    this.#deleted.delete(key);
    this.#missing.delete(key);
    this.#lastKnown.delete(key);
  }

  keys(): Set<ResourceKey> {
    return new Set([
      ...this.#claims.keys(),
      ...this.#orphans.keys(),
      ...this.#deleted.keys(),
      ...this.#missingKnown(),
    ]);
  }

  lookup(key: ResourceKey): Lookup {
    if (this.#deleted.has(key)) {
      const lastKnown = this.#deleted.get(key);
      return lastKnown ? { state: "deleted", lastKnown } : { state: "deleted" };
    }
    const lastKnown = this.#lastKnown.get(key);
    const claims = this.#claims.get(key) ?? [];
    const known = lastKnown ? { lastKnown } : {};
    if (claims.length > 1)
      return { state: "invalid", error: duplicateError(key, claims, this.#hooks), ...known };
    const claim = claims[0];
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
    const out: AnyResource[] = [];
    const take = (r: AnyResource) => {
      if (r.kind === kind && (namespace === undefined || r.metadata.namespace === namespace)) out.push(r);
    };
    for (const [key, claims] of this.#claims) {
      const only = claims.length === 1 ? claims[0] : undefined;
      if (only?.ok && !this.#deleted.has(key)) take(only.resource);
    }
    for (const key of this.#missingKnown()) {
      const r = this.#lastKnown.get(key);
      if (r && !this.#claims.has(key) && !this.#orphans.has(key)) take(r);
    }
    return out;
  }

  #claim(file: string, doc: DocumentResult): Claim[] {
    if (doc.ok) {
      const r = doc.resource;
      const key = makeKey(r.kind, r.metadata.namespace, r.metadata.name);
      return [
        { key, file, line: doc.line, col: doc.col, ok: true, resource: r, hash: this.#hooks.hash(r.spec) },
      ];
    }
    if (!doc.id) return [];
    const first = doc.located[0];
    const message = doc.located
      .map((l) => `${this.#hooks.display(l.file)}:${l.line}:${l.col}: ${l.message}`)
      .join("; ");
    const key = makeKey(doc.id.kind, doc.id.namespace, doc.id.name);
    return [
      {
        key,
        file,
        line: first?.line ?? 1,
        col: first?.col ?? 1,
        ok: false,
        error: new InvalidSpecError(doc.issues, message),
      },
    ];
  }

  #unclaim(claim: Claim): void {
    const list = this.#claims.get(claim.key);
    if (!list) return;
    const rest = list.filter((c) => c !== claim);
    if (rest.length === 0) this.#claims.delete(claim.key);
    else this.#claims.set(claim.key, rest);
  }

  /** Recomputes one key after a file changed: orphan, missing, generation, last known. */
  #settle(key: ResourceKey): void {
    const claims = this.#claims.get(key) ?? [];
    if (claims.length > 1) this.#duplicates.add(key);
    else this.#duplicates.delete(key);
    this.#orphans.delete(key);
    if (claims.length === 0) {
      for (const [file, entry] of this.#files) {
        if (entry.broken && entry.problem && entry.lastGood.includes(key)) {
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
    } else if (!this.#deleted.has(key)) {
      this.#missing.set(key, 0);
    }
    const only = claims.length === 1 ? claims[0] : undefined;
    if (only?.ok) {
      this.#hooks.stamp(key, only.resource, only.hash);
      this.#lastKnown.set(key, only.resource);
    }
  }

  #held(key: ResourceKey): boolean {
    return this.#claims.has(key) || this.#orphans.has(key);
  }

  *#missingKnown(): Iterable<ResourceKey> {
    for (const key of this.#missing.keys()) if (this.#lastKnown.has(key)) yield key;
  }
}

function firstProblem(documents: readonly DocumentResult[]): LocatedIssue | undefined {
  for (const doc of documents) if (!doc.ok && doc.located[0]) return doc.located[0];
  return undefined;
}

function duplicateError(key: ResourceKey, claims: readonly Claim[], hooks: TableHooks): InvalidSpecError {
  const [a, b] = claims;
  const where = (c: Claim | undefined) => (c ? `${hooks.display(c.file)}:${c.line}:${c.col}` : "?");
  const message = `${where(a)}: ${key} is also defined in ${where(b)}: duplicate resource`;
  return new InvalidSpecError(
    [{ path: ["metadata", "name"], message: `duplicate resource, also in ${where(b)}` }],
    message,
  );
}

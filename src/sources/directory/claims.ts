// What a file of the directory claims, as the directory's table keeps it: a key's claims and a
// file's entry, each holding its one claim itself (an array only where there are several), the
// errors a key's claims make, and what a key's lookup says for the change feed.
import { InvalidSpecError } from "../../api/errors.ts";
import { interner } from "../../api/intern.ts";
import { listOf, type OneOrMany } from "../../api/one-or-many.ts";
import { type AnyResource, makeKey, type ResourceKey } from "../../api/resources.ts";
import type { Lookup } from "../../controller/source.ts";
import type { DocumentResult, LocatedIssue } from "../yaml/index.ts";

interface ClaimAt {
  key: ResourceKey;
  file: string;
  line: number;
  col: number;
}

export type Claim =
  | (ClaimAt & { ok: true; resource: AnyResource; hash: string })
  | (ClaimAt & { ok: false; error: InvalidSpecError });
export type ValidClaim = Extract<Claim, { ok: true }>;
/** A key's claims (an array only for duplicates), or a file's (an array for none, or several). */
export type Claims = OneOrMany<Claim>;

export interface FileEntry {
  ours: boolean;
  broken: boolean;
  /** What the file claims: its one claim itself (nearly every file), else an array (none, or several). */
  claims: Claims;
  /** First problem of the file, for resources it held when last good. */
  problem?: LocatedIssue;
  /**
   * Keys of the last read of this file that had no problem: kept by a broken file only; a good
   * file's are its claims' keys (`lastGoodOf`), not a second one-element array per file.
   */
  lastGood?: ResourceKey[];
}

/**
 * What the table keeps of a file: a clean one (ours, one valid claim, no problem: nearly every file)
 * as its claim alone, not an entry around it (48 bytes a file; docs/benchmarks.md, round 31).
 */
export type FileRecord = FileEntry | ValidClaim;

export function isEntry(record: FileRecord): record is FileEntry {
  return "claims" in record;
}

/** The claims of a file's record. */
export function claimsOf(record: FileRecord): readonly Claim[] {
  return isEntry(record) ? listOf(record.claims) : [record];
}

export function lastGoodOf(record: FileRecord): readonly ResourceKey[] {
  if (!isEntry(record)) return [record.key];
  return record.lastGood ?? listOf(record.claims).map((c) => c.key);
}

export function firstProblem(documents: readonly DocumentResult[]): LocatedIssue | undefined {
  for (const doc of documents) if (!doc.ok && doc.located[0]) return doc.located[0];
  return undefined;
}

export function duplicateError(
  key: ResourceKey,
  claims: readonly Claim[],
  display: (file: string) => string,
): InvalidSpecError {
  const [a, b] = claims;
  const where = (c: Claim | undefined) => (c ? `${display(c.file)}:${c.line}:${c.col}` : "?");
  const message = `${where(a)}: ${key} is also defined in ${where(b)}: duplicate resource`;
  return new InvalidSpecError(
    [{ path: ["metadata", "name"], message: `duplicate resource, also in ${where(b)}` }],
    message,
  );
}

/**
 * What a key's lookup says, as the source compares it to tell a change: one flat string (`join`),
 * not a template's rope, interned (jobs that share their labels share it: 10,000 keys held ~0.4 MB
 * of copies).
 */
export function changePrint(found: Lookup): string {
  const meta = found.state === "present" ? found.resource.metadata : undefined;
  if (meta)
    return interner.intern(["p", meta.generation, JSON.stringify([meta.labels, meta.annotations])].join(":"));
  return found.state === "invalid" ? `i:${found.error.message}` : found.state;
}

/** The claim a document of `file` makes: a valid resource, an invalid one that names itself, or none. */
export function claimDocument(
  file: string,
  doc: DocumentResult,
  hooks: { display(file: string): string; hash(spec: unknown): string },
): Claim[] {
  if (doc.ok) {
    const r = doc.resource;
    const key = makeKey(r.kind, r.metadata.namespace, r.metadata.name);
    return [{ key, file, line: doc.line, col: doc.col, ok: true, resource: r, hash: hooks.hash(r.spec) }];
  }
  if (!doc.id) return [];
  const first = doc.located[0];
  const message = doc.located
    .map((l) => `${hooks.display(l.file)}:${l.line}:${l.col}: ${l.message}`)
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

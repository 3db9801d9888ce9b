// What the state directory keeps per resource: the status and, beside it, the metadata and the
// last seen spec (for `describe`, for plan's field diff, and as lastKnown after a deletion).

import { readFileSync, statSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { interner } from "../../api/intern.ts";
import { isKind } from "../../api/kinds.ts";
import { checkLabel } from "../../api/names.ts";
import { byCodeUnits } from "../../api/order.ts";
import { redactSpec } from "../../api/redact.ts";
import {
  type AnyResource,
  type API_VERSION,
  type Kind,
  parseKey,
  type ResourceKey,
} from "../../api/resources.ts";
import { statusPath } from "./paths.ts";

export interface StatusRecord {
  apiVersion: typeof API_VERSION;
  kind: Kind;
  metadata: {
    name: string;
    namespace: string;
    generation: number;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: unknown;
  specHash: string;
  status: Record<string, unknown>;
  /** When the status was last written. */
  updated: string;
}

export function recordToResource(record: StatusRecord, withStatus = true): AnyResource {
  return {
    apiVersion: record.apiVersion,
    kind: record.kind,
    metadata: { ...record.metadata },
    spec: record.spec,
    ...(withStatus ? { status: record.status } : {}),
  } as AnyResource;
}

/** `intern`: share its strings with the other records kept in memory (not worth it for a one-off read). */
export function parseRecord(text: string, intern = true): StatusRecord | undefined {
  try {
    const value = JSON.parse(text) as StatusRecord;
    if (!isKind(value.kind) || typeof value.metadata?.name !== "string") return undefined;
    // A record written before env values were redacted still shows none.
    const record = { ...value, spec: redactSpec(value.spec) };
    return intern ? interner.internAll(record, { spec: true }) : record;
  } catch {
    return undefined;
  }
}

interface Identity {
  readonly kind: Kind;
  readonly namespace: string;
  readonly name: string;
}

function isRecordOf(
  record: StatusRecord | undefined,
  { kind, namespace, name }: Identity,
): record is StatusRecord {
  return (
    record !== undefined &&
    record.kind === kind &&
    record.metadata.namespace === namespace &&
    record.metadata.name === name
  );
}

// A text that does not parse, or that is another resource's record, is read once more: the writer
// reuses the inode of a replaced file after a rest (spare-inodes.ts), so a reader that opened the
// old file and stalled past that rest reads the inode's next contents.

export async function readRecord(stateDir: string, key: ResourceKey): Promise<StatusRecord | undefined> {
  const path = statusPath(stateDir, key);
  const identity = parseKey(key);
  let record: StatusRecord | undefined;
  try {
    record = parseRecord(await readFile(path, "utf8"));
  } catch {
    return undefined;
  }
  return isRecordOf(record, identity) ? record : readOnce(path, identity);
}

export function readRecordSync(stateDir: string, key: ResourceKey): StatusRecord | undefined {
  const path = statusPath(stateDir, key);
  // A new resource has no record: ask without an exception (an ENOENT error per new resource adds up).
  if (!statSync(path, { throwIfNoEntry: false })) return undefined;
  const identity = parseKey(key);
  return readOnce(path, identity) ?? readOnce(path, identity);
}

function readOnce(path: string, identity: Identity, intern = true): StatusRecord | undefined {
  try {
    const record = parseRecord(readFileSync(path, "utf8"), intern);
    return isRecordOf(record, identity) ? record : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Every record of a kind (optionally one namespace), sorted by namespace then name. `intern: false`
 * for records that are printed and dropped (`get`: a tenth of its time at 10,000 records).
 */
export async function listRecords(
  stateDir: string,
  kind: Kind,
  namespace?: string,
  options: { readonly intern?: boolean } = {},
): Promise<StatusRecord[]> {
  const intern = options.intern ?? true;
  const base = join(stateDir, "status", kind.toLowerCase());
  const namespaces = namespace === undefined ? await names(base) : [namespace];
  const out: StatusRecord[] = [];
  for (const namespace of namespaces.sort()) {
    // Only what the operator names (DNS-1123 labels, as statusPath checks): a stray file or
    // directory someone put there is not a record.
    if (checkLabel(namespace) !== undefined) continue;
    const dir = join(base, namespace);
    const files = (await names(dir)).filter((f) => f.endsWith(".json") && !f.startsWith("."));
    // Read synchronously: a promise, a file handle and an fstat per file cost ~3x the time of the
    // read itself at 10,000 files (mlopsctl get: 0.85 s, most of it in fs/promises). No stat first,
    // as readRecordSync asks: the file was listed (a third of `get`'s time at 10,000); one removed
    // since reads as absent.
    for (const file of files) {
      const identity = { kind, namespace, name: file.slice(0, -".json".length) };
      if (checkLabel(identity.name) !== undefined) continue;
      const path = `${dir}/${file}`;
      const record = readOnce(path, identity, intern) ?? readOnce(path, identity, intern);
      if (record) out.push(record);
    }
  }
  return out.sort(
    (a, b) =>
      byCodeUnits(a.metadata.namespace, b.metadata.namespace) ||
      byCodeUnits(a.metadata.name, b.metadata.name),
  );
}

async function names(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

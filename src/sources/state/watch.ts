// A watch over the state directory's status records, as `kubectl get -w` watches the API: the
// records of one kind (or every kind), then one event per change. fs.watch on the status folders
// (one per folder, StatusFolderWatch) wakes a rescan; a bounded poll rescans anyway, for file
// systems where fs.watch says nothing (network mounts, a folder created after the watch began).
import { KINDS } from "../../api/kinds.ts";
import { type Kind, makeKey, type ResourceKey } from "../../api/resources.ts";
import { StatusFolderWatch } from "./folder-watch.ts";
import { listRecords, type StatusRecord } from "./record.ts";
import { fingerprint } from "./store.ts";

export type RecordEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface RecordEvent {
  readonly type: RecordEventType;
  /** The record as it is now; for DELETED, as it was last seen. */
  readonly record: StatusRecord;
}

export interface RecordScope {
  /** One kind, or every kind of the registry. */
  readonly kind?: Kind;
  /** One namespace, or every namespace. */
  readonly namespace?: string;
}

export interface WatchRecordsOptions extends RecordScope {
  readonly signal: AbortSignal;
  /** The rescan interval when fs.watch reports nothing (default 2 s). */
  readonly pollMs?: number;
  /** Delay between a file event and the rescan it causes, so a burst of writes is one rescan. */
  readonly settleMs?: number;
}

/** What a watch knows of each record: its fingerprint (changes only when the record means something new). */
export type Known = Map<ResourceKey, { readonly print: string; readonly record: StatusRecord }>;

const keyOf = (r: StatusRecord): ResourceKey => makeKey(r.kind, r.metadata.namespace, r.metadata.name);

/** The events that take `known` to `records` (records in list order; deletions last); updates `known`. */
export function diffRecords(known: Known, records: readonly StatusRecord[]): RecordEvent[] {
  const events: RecordEvent[] = [];
  const seen = new Set<ResourceKey>();
  for (const record of records) {
    const key = keyOf(record);
    seen.add(key);
    const print = fingerprint(record);
    const before = known.get(key);
    if (before?.print === print) continue;
    known.set(key, { print, record });
    events.push({ type: before ? "MODIFIED" : "ADDED", record });
  }
  for (const [key, { record }] of known) {
    if (seen.has(key)) continue;
    known.delete(key);
    events.push({ type: "DELETED", record });
  }
  return events;
}

/** Every record in scope, kinds in registry order, each sorted by namespace then name. */
export async function listScope(stateDir: string, scope: RecordScope): Promise<StatusRecord[]> {
  const kinds = scope.kind ? [scope.kind] : KINDS;
  const lists = await Promise.all(kinds.map((k) => listRecords(stateDir, k, scope.namespace)));
  return lists.flat();
}

/**
 * The changes after `initial` (records the caller already showed), until the signal aborts. Never
 * ends on its own: a status folder that does not exist yet is polled until it does.
 */
export async function* watchRecords(
  stateDir: string,
  initial: readonly StatusRecord[],
  options: WatchRecordsOptions,
): AsyncGenerator<RecordEvent> {
  const known: Known = new Map();
  diffRecords(known, initial);
  const pollMs = options.pollMs ?? 2000;
  const settleMs = options.settleMs ?? 25;
  let wake: (() => void) | undefined;
  let dirty = false;
  const poke = (delay: number) => {
    dirty = true;
    setTimeout(() => wake?.(), delay).unref?.();
  };
  let watcher: StatusFolderWatch | undefined;
  const startWatcher = () => {
    if (watcher) return;
    try {
      watcher = new StatusFolderWatch(stateDir, {
        onChange: () => poke(settleMs),
        onGone: () => {
          watcher = undefined;
        },
      });
    } catch {
      watcher = undefined; // no status folder yet: the poll looks again
    }
  };
  const onAbort = () => wake?.();
  options.signal.addEventListener("abort", onAbort);
  const poll = setInterval(() => poke(0), pollMs);
  try {
    startWatcher();
    // A change between the caller's list and the watcher's start is caught by this first rescan.
    dirty = true;
    while (!options.signal.aborted) {
      if (!dirty) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
        continue;
      }
      dirty = false;
      startWatcher();
      const events = diffRecords(known, await listScope(stateDir, options));
      for (const event of events) {
        if (options.signal.aborted) return;
        yield event;
      }
    }
  } finally {
    clearInterval(poll);
    watcher?.close();
    options.signal.removeEventListener("abort", onAbort);
  }
}

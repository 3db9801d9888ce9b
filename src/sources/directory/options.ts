// The directory source's options and what it reports about pruning, and its default owner id.
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import type { Logger } from "pino";
import type { ResourceKey } from "../../api/resources.ts";
import type { Clock, Recorder } from "../../controller/reconcile.ts";
import type { StateStore } from "../state/index.ts";
import type { LocatedIssue } from "../yaml/index.ts";
import { realOrResolved } from "./paths.ts";
import type { MassPruneBlock, MassPruneLimits } from "./prune.ts";

export interface DirectorySourceOptions {
  dir: string;
  /** The state directory's store (generations, status). The caller closes it after close(). */
  store: StateStore;
  /** Do both settled reads in start() and do not watch: a single `run --once` prunes. */
  once?: boolean;
  /**
   * `--prune-settle`: a resource is pruned only when absent from two full reads at least this far
   * apart with no change in the tree between them (default 2 s).
   */
  settleMs?: number;
  /** `--prune=false`: resources whose file goes are retained (their objects kept), never pruned. */
  prune?: boolean;
  /** `--max-prune-fraction`, `--max-prune-count`, `--allow-mass-prune`. */
  massPrune?: MassPruneLimits;
  /** Where prune, retain and blocked-prune events go (per resource). */
  recorder?: Recorder;
  /** Coalescing of file events (default 3 ms, at most 20). */
  debounceMs?: number;
  log?: Logger;
  clock?: Clock;
}

/**
 * The default owner id of an operator watching `dir`: a hash of its absolute path as given, symbolic
 * links not followed, so that git-sync's link swapped per revision (anywhere in the path) keeps the
 * id across restarts. The same directory reached by two paths gets two ids: pass --owner-id.
 */
export function directoryOwnerId(dir: string): string {
  return createHash("sha256").update(resolve(dir)).digest("hex").slice(0, 16);
}

/**
 * The default owner id earlier versions derived for `dir`: a hash of its real path, symbolic links
 * followed (with git-sync, the revision's checkout the link pointed to at start-up). Only the target
 * of today's link can be computed; objects made under older revisions' paths are not found this way.
 * Empty when it equals today's id (no link in the path).
 */
export function previousDirectoryOwnerIds(dir: string): string[] {
  const previous = createHash("sha256").update(realOrResolved(dir)).digest("hex").slice(0, 16);
  return previous === directoryOwnerId(dir) ? [] : [previous];
}

/** Today's default owner id of `dir` and the previous ones (see above). */
export function directoryOwnerIds(dir: string): [string, string[]] {
  return [directoryOwnerId(dir), previousDirectoryOwnerIds(dir)];
}

export const DEFAULT_PRUNE_SETTLE_MS = 2000;

/** What the last full read left undone: for `run --once`'s exit code and `plan`. */
export interface PruneReport {
  /** Entries that block every prune (path:line:col: reason). */
  readonly unreadable: readonly LocatedIssue[];
  /** Keys absent from the files whose prune awaits a confirming read. */
  readonly pending: readonly ResourceKey[];
  /** Keys whose file went but whose objects are kept (prune disabled). */
  readonly retained: readonly ResourceKey[];
  /** A mass prune held back for `--allow-mass-prune`. */
  readonly massBlocked?: MassPruneBlock;
}

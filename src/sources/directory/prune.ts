// The directory source's prune decision, without I/O. A resource no file holds is pruned only when
// it was absent from two full reads at least `settleMs` apart with no change in the tree between
// them, and never as part of a mass prune nobody confirmed.
import type { ResourceKey } from "../../api/resources.ts";

/** One full read of the tree: when it ended, and the tree's change count at that moment. */
export interface FullRead {
  /** Sequence number of the full read (1, 2, …), for messages. */
  readonly seq: number;
  /** End of the read, ms since the epoch. */
  readonly at: number;
  /** Changes the source had seen in the tree (files read anew, gone, directory flips) by then. */
  readonly version: number;
  /**
   * The directory existed and no entry was unreadable, broken or duplicated. (A tree that holds no
   * resource at all is clean, but prunes nothing without a confirmation: table.ts, MassPruneBlock.)
   */
  readonly clean: boolean;
}

export type AbsenceVerdict =
  /** Absent from `first` and `second`, settled and quiet in between: prune. */
  | { readonly verdict: "prune"; readonly first: FullRead; readonly second: FullRead }
  /** Not yet: `first` is the read the absence counts from (none: wait for a clean full read). */
  | { readonly verdict: "wait"; readonly first?: FullRead; readonly dueAt?: number };

/** Decides one absent key after a full read, given the full read its absence counts from. */
export function judgeAbsence(first: FullRead | undefined, read: FullRead, settleMs: number): AbsenceVerdict {
  if (!read.clean) return { verdict: "wait" };
  if (first === undefined || first.version !== read.version)
    return { verdict: "wait", first: read, dueAt: read.at + settleMs };
  if (read.at - first.at < settleMs) return { verdict: "wait", first, dueAt: first.at + settleMs };
  return { verdict: "prune", first, second: read };
}

export interface MassPruneLimits {
  /** Fraction of the directory's resources one pass may prune (default 0.5). */
  readonly maxFraction: number;
  /** Count one pass may prune whatever the fraction (default 10). */
  readonly maxCount: number;
  /** `--allow-mass-prune`: the user confirmed. */
  readonly allow: boolean;
}

export const DEFAULT_MASS_PRUNE: MassPruneLimits = { maxFraction: 0.5, maxCount: 10, allow: false };

/**
 * Prunes held back for `--allow-mass-prune`: more than both limits at once, or every resource there
 * was (`emptied`: no file declares any; a failed checkout or an unmounted volume looks the same,
 * whatever the count, as Argo CD's automated sync refuses to leave an application empty unless
 * `allowEmpty`).
 */
export interface MassPruneBlock {
  readonly keys: readonly ResourceKey[];
  readonly total: number;
  readonly emptied?: true;
}

/** True when pruning `count` of `total` resources in one pass needs a confirmation it lacks. */
export function isMassPrune(count: number, total: number, limits: MassPruneLimits): boolean {
  if (limits.allow) return false;
  return count > limits.maxCount && count > limits.maxFraction * total;
}

/** The annotation that keeps a resource's objects when its file goes (as Flux's prune: disabled). */
export const PRUNE_ANNOTATION = "mlops.dev/prune";

export function pruneDisabled(annotations: Readonly<Record<string, string>> | undefined): boolean {
  return annotations?.[PRUNE_ANNOTATION] === "disabled";
}

/** `absent from full reads #3 (12:00:01.250) and #4 (12:00:03.260), 2.0 s apart, tree unchanged`. */
export function describeAbsence(first: FullRead, second: FullRead): string {
  const time = (ms: number) => new Date(ms).toISOString().slice(11, 23);
  const apart = ((second.at - first.at) / 1000).toFixed(1);
  return `absent from full reads #${first.seq} (${time(first.at)}) and #${second.seq} (${time(second.at)}), ${apart} s apart, tree unchanged`;
}
